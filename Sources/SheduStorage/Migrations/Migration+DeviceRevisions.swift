extension Migration {
    /// A counter every write of a device row raises: a change prepared outside the writer is
    /// written only if the device is still at the revision it was prepared from.
    static let deviceRevisions = Migration(version: 6, name: "device revisions") { _ in
        ["ALTER TABLE devices ADD COLUMN revision BIGINT NOT NULL DEFAULT 0"]
    }
}
