import Foundation
import Testing

@testable import SheduCore

@Suite("Durations, validity and RFC 3339 times")
struct TimeTypesTests {
    static let parsed: [(String, Int64)] = [
        ("1y", 364 * day), ("4w2d", 30 * day), ("90d", 90 * day), ("1h30m", 5_400_000), ("1.5h", 5_400_000),
        ("1s500ms", 1500), ("0", 0), ("+2m", 120_000), ("10y", 3640 * day), ("1500us", 2), ("2h45m30s", 9_930_000),
    ]

    @Test(arguments: parsed)
    func parsesDurations(_ text: String, _ milliseconds: Int64) throws {
        #expect(try TimeDuration(parsing: text).milliseconds == milliseconds)
    }

    @Test(arguments: ["", "1", "d", "1x", ".h", "-1h", "1h-2m", "abc", "1 h", "1e3s"])
    func refusesBadDurations(_ text: String) {
        #expect(throws: SheduError.self) { try TimeDuration(parsing: text) }
    }

    static let day: Int64 = 86_400_000
    static let formatted: [(Int64, String)] = [
        (0, "0s"), (3_600_000, "1h"), (day, "1d"), (7 * day, "1w"), (30 * day, "4w2d"), (364 * day, "1y"),
        (365 * day, "1y1d"), (5_400_000, "1h30m"), (1500, "1s500ms"), (6 * day + 82_800_000, "6d23h"),
    ]

    @Test(arguments: formatted)
    func formatsDurations(_ milliseconds: Int64, _ text: String) {
        #expect(TimeDuration(milliseconds: milliseconds).description == text)
    }

    @Test func validityDecodesBothKinds() throws {
        let duration = try JSONDecoder().decode(Validity.self, from: Data(#"{"type":"Duration","duration":"1y"}"#.utf8))
        #expect(duration == .duration(.days(364)))
        let time = try JSONDecoder().decode(Validity.self, from: Data(#"{"type":"Time","time":"2030-01-01T00:00:00Z"}"#.utf8))
        #expect(time == .time(Date(timeIntervalSince1970: 1_893_456_000)))
        let start = Date(timeIntervalSince1970: 0)
        #expect(duration.notAfter(from: start) == Date(timeIntervalSince1970: 364 * 86_400))
    }

    @Test(arguments: [
        #"{"type":"Duration"}"#, #"{"type":"Duration","duration":"0"}"#, #"{"type":"Time"}"#,
        #"{"type":"Time","time":"tomorrow"}"#, #"{"type":"Forever"}"#, #"{}"#,
    ])
    func refusesBadValidity(_ json: String) {
        #expect(throws: SheduError.self) { try JSONDecoder().decode(Validity.self, from: Data(json.utf8)) }
    }

    @Test func rfc3339RoundTrips() {
        let instants: [Int64] = [0, 1_773_050_400_000, 1_773_050_400_250, -86_400_000, 253_402_300_799_000, 951_782_400_000]
        for instant in instants {
            let text = RFC3339.format(epochMilliseconds: instant)
            #expect(RFC3339.parse(text)?.epochMilliseconds == instant, "\(text)")
        }
        #expect(RFC3339.format(epochMilliseconds: 1_773_050_400_000) == "2026-03-09T10:00:00Z")
        #expect(RFC3339.format(epochMilliseconds: 951_782_400_000) == "2000-02-29T00:00:00Z")
        #expect(RFC3339.format(epochMilliseconds: 1_773_050_400_250) == "2026-03-09T10:00:00.250Z")
        #expect(RFC3339.format(epochMilliseconds: 1_773_050_400_007) == "2026-03-09T10:00:00.007Z")
        #expect(RFC3339.format(epochMilliseconds: -1) == "1969-12-31T23:59:59.999Z")
        #expect(RFC3339.format(epochMilliseconds: 253_402_300_800_000) == "10000-01-01T00:00:00Z", "past four digits")
    }

    /// History keys: nine fractional digits (milliseconds, then the sequence), sorting as text in time order.
    @Test func sequencedKeysSortInTimeOrder() {
        #expect(RFC3339.sequencedKey(epochMilliseconds: 1_773_050_400_250, sequence: 7) == "2026-03-09T10:00:00.250000007Z")
        #expect(RFC3339.sequencedKey(epochMilliseconds: 1_773_050_400_000, sequence: 1_000_001) == "2026-03-09T10:00:00.000000001Z")
        let keys = [(1_773_050_399_999, 999_999), (1_773_050_400_000, 0), (1_773_050_400_000, 1), (1_773_050_400_001, 0)]
            .map { RFC3339.sequencedKey(epochMilliseconds: Int64($0.0), sequence: $0.1) }
        #expect(keys == keys.sorted())
    }

    static let times: [(String, Int64)] = [
        ("2026-03-09T10:00:00Z", 1_773_050_400_000), ("2026-03-09T11:00:00+01:00", 1_773_050_400_000),
        ("2026-03-09t10:00:00.5z", 1_773_050_400_500), ("2026-03-09 10:00:00.123456789Z", 1_773_050_400_123),
    ]

    @Test(arguments: times)
    func parsesTimes(_ text: String, _ milliseconds: Int64) throws {
        #expect(try #require(RFC3339.parse(text)).epochMilliseconds == milliseconds)
    }

    @Test(arguments: ["2026-02-30T00:00:00Z", "2026-13-01T00:00:00Z", "2026-03-09T24:00:00Z", "2026-03-09T10:00:00",
                      "2026-03-09", "09/03/2026", "2026-03-09T10:00:00+1:00", "2026-03-09T10:00:00Zjunk"])
    func refusesBadTimes(_ text: String) {
        #expect(RFC3339.parse(text) == nil)
    }

    @Test func dateOnlyWhenAllowed() {
        #expect(RFC3339.parse("2026-03-09", allowDateOnly: true)?.epochMilliseconds == 1_773_014_400_000)
    }
}
