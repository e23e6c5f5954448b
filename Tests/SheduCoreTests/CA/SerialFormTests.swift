import Testing

@testable import SheduCore

@Suite("Serial numbers in paths and filters take the stored form")
struct SerialFormTests {
    @Test(arguments: [
        ("5e:1A:00:ff", "5e1a00ff"),  // openssl's colon form, any case
        ("5E-1A-00-FF", "5e1a00ff"),
        ("00e1a2", "e1a2"),  // a DER sign byte is dropped
        ("abc", "0abc"),  // odd length: padded to whole bytes
        ("00", "00"),
        ("7f0a11", "7f0a11"),  // already stored form: unchanged
        ("not-hex", "nothex"),  // not a serial: passed on, to be not found
    ])
    func normalizes(_ input: String, _ stored: String) {
        #expect(CAService.normalizedSerial(input) == stored)
    }
}
