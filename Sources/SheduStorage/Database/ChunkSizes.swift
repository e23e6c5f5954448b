/// Splits rows written together into chunks whose sizes are powers of two, so that a multi-row
/// statement has a handful of texts (and stays prepared) rather than one per batch size.
enum ChunkSizes {
    /// Index ranges of `count` rows in chunks of at most `limit` (a power of two), largest first.
    static func ranges(count: Int, limit: Int) -> [Range<Int>] {
        var ranges: [Range<Int>] = []
        var start = 0
        while start < count {
            var size = limit
            while size > count - start { size >>= 1 }
            ranges.append(start..<(start + size))
            start += size
        }
        return ranges
    }
}
