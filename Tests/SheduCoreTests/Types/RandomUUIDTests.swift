import Foundation
import Testing

@testable import SheduCore

@Suite("Random UUIDs for event and resource ids")
struct RandomUUIDTests {
    @Test func areVersion4UUIDsInLowercase() throws {
        for _ in 0..<1_000 {
            let text = RandomUUID.lowercased()
            let parsed = try #require(UUID(uuidString: text), "\(text) is not a UUID")
            #expect(parsed.uuidString.lowercased() == text)
            let bytes = withUnsafeBytes(of: parsed.uuid) { Array($0) }
            #expect(bytes[6] >> 4 == 4, "version nibble of \(text)")
            #expect(bytes[8] >> 6 == 0b10, "variant bits of \(text)")
        }
    }

    @Test func doNotRepeat() {
        let ids = (0..<10_000).map { _ in RandomUUID.lowercased() }
        #expect(Set(ids).count == ids.count)
    }
}
