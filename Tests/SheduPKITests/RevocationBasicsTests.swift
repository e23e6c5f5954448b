import Foundation
import SwiftASN1
import Testing
import X509

@testable import SheduPKI

@Suite("Revocation basics: times, signature algorithms, CRL numbers")
struct RevocationBasicsTests {
    private func der(_ value: some DERSerializable) throws -> [UInt8] {
        var serializer = DER.Serializer()
        try serializer.serialize(value)
        return serializer.serializedBytes
    }

    private func date(_ text: String) throws -> Date {
        try #require(try? Date(text, strategy: .iso8601))
    }

    @Test func generalizedTimeIsUTCAtWholeSeconds() throws {
        let time = try GeneralizedTime(try date("2024-02-29T12:34:56Z").addingTimeInterval(0.789))
        #expect(try der(time) == [0x18, 15] + Array("20240229123456Z".utf8))
        #expect(time.date == (try date("2024-02-29T12:34:56Z")))
        #expect(try der(GeneralizedTime(try date("2051-01-01T00:00:00Z"))) == [0x18, 15] + Array("20510101000000Z".utf8))
    }

    @Test func utcTimeCoversOnly1950To2049() throws {
        let time = try UTCTime(try date("2049-12-31T23:59:59Z"))
        #expect(try der(time) == [0x17, 13] + Array("491231235959Z".utf8))
        #expect(try UTCTime(try date("1950-01-01T00:00:00Z")).date == (try date("1950-01-01T00:00:00Z")))
        #expect(throws: PKIError.self) { try UTCTime(try date("2050-01-01T00:00:00Z")) }
        #expect(throws: PKIError.self) { try UTCTime(try date("1949-12-31T23:59:59Z")) }
    }

    @Test func x509TimeSwitchesToGeneralizedTimeIn2050() throws {
        guard case .utcTime = try X509Time(try date("2049-12-31T23:59:59Z")) else {
            Issue.record("2049 must be a UTCTime")
            return
        }
        guard case .generalizedTime = try X509Time(try date("2050-01-01T00:00:00Z")) else {
            Issue.record("2050 must be a GeneralizedTime")
            return
        }
        guard case .generalizedTime = try X509Time(try date("1949-06-01T00:00:00Z")) else {
            Issue.record("1949 must be a GeneralizedTime")
            return
        }
        for text in ["1949-06-01T10:00:00Z", "2026-03-01T00:00:00Z", "2050-01-01T00:00:00Z"] {
            let time = try X509Time(try date(text))
            #expect(try X509Time(derEncoded: der(time)) == time)
            #expect(time.date == (try date(text)))
        }
        #expect(throws: PKIError.self) { try X509Time(Date(timeIntervalSince1970: 1e15)) }
    }

    @Test func calendarFieldsAgreeWithFoundation() throws {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = try #require(TimeZone(identifier: "UTC"))
        var generator = SplitMix64(state: 20_240_229)
        for _ in 0..<2000 {
            // Between 1900 and 2200.
            let seconds = Double(Int64.random(in: -2_208_988_800...7_258_118_400, using: &generator))
            let date = Date(timeIntervalSince1970: seconds)
            let fields = try UTCDateComponents(date)
            let expected = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
            #expect(
                [fields.year, fields.month, fields.day, fields.hours, fields.minutes, fields.seconds]
                    == [expected.year, expected.month, expected.day, expected.hour, expected.minute, expected.second],
                "\(date)")
            #expect(fields.date == date)
        }
    }

    @Test func signatureAlgorithmIdentifiersAreTheDERWeExpect() throws {
        #expect(
            try der(SignatureAlgorithmIdentifier(for: KeySpec(storedAlgorithm: .ecdsa, bits: 256)))
                == [0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02])
        #expect(
            try der(SignatureAlgorithmIdentifier(for: KeySpec(storedAlgorithm: .rsa, bits: 2048)))
                == [0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b, 0x05, 0x00])
        #expect(
            try der(SignatureAlgorithmIdentifier(for: KeySpec(storedAlgorithm: .ed25519, bits: 256)))
                == [0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70])
    }

    @Test(arguments: caKeySpecs + [KeySpec(storedAlgorithm: .ecdsa, bits: 521)])
    func signatureAlgorithmMatchesTheCertificatesOfTheKey(spec: KeySpec) throws {
        let ca = try TestCA(spec)
        // Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signature }
        let root = try DER.parse(ca.certificate.derBytes)
        guard case .constructed(let fields) = root.content else {
            Issue.record("a certificate is a SEQUENCE")
            return
        }
        let certificateAlgorithm = Array(Array(fields)[1].encodedBytes)
        #expect(try der(ca.key.signatureAlgorithmIdentifier) == certificateAlgorithm)
        #expect(try SignatureAlgorithmIdentifier(derEncoded: certificateAlgorithm) == ca.key.signatureAlgorithmIdentifier)

        let message = Array("a to-be-signed structure".utf8)
        let signature = try ca.key.signToBeSigned(message)
        let algorithm = ca.key.signatureAlgorithmIdentifier
        #expect(ca.certificate.publicKey.isValidSignature(signature, overToBeSigned: message, algorithm: algorithm))
        #expect(!ca.certificate.publicKey.isValidSignature(signature, overToBeSigned: message + [0], algorithm: algorithm))
    }

    @Test func crlNumbersAreNonNegativeIntegersOfAtMost20Octets() throws {
        #expect(try der(CRLNumber(0)) == [0x02, 0x01, 0x00])
        #expect(try der(CRLNumber(127)) == [0x02, 0x01, 0x7f])
        #expect(try der(CRLNumber(128)) == [0x02, 0x02, 0x00, 0x80])
        #expect(try der(CRLNumber(UInt64.max)) == [0x02, 0x09, 0x00] + Array(repeating: 0xff, count: 8))
        #expect(try CRLNumber(derEncoded: der(CRLNumber(UInt64.max))).uint64Value == UInt64.max)
        #expect(try CRLNumber(magnitude: [0, 0, 1, 0]) == CRLNumber(256))
        #expect(try CRLNumber(magnitude: Array(repeating: 0x7f, count: 20)).description.hasPrefix("0x7f7f"))
        #expect(throws: PKIError.self) { try CRLNumber(magnitude: Array(repeating: 0x80, count: 20)) }
        #expect(throws: PKIError.self) { try CRLNumber(magnitude: Array(repeating: 0x01, count: 21)) }
        #expect(throws: (any Error).self) { try CRLNumber(derEncoded: [0x02, 0x01, 0xff]) }
        #expect(try CRLNumber(255).next() == CRLNumber(256))
        #expect(try CRLNumber(0).next() == CRLNumber(1))
        #expect(try CRLNumber(UInt64.max).next().magnitude == [1, 0, 0, 0, 0, 0, 0, 0, 0])
        #expect(CRLNumber(9) < CRLNumber(10) && CRLNumber(255) < CRLNumber(256) && !(CRLNumber(7) < CRLNumber(7)))
        #expect(CRLNumber(42).description == "42")
    }

    @Test func crlReasonsAreTheRFC5280Codes() throws {
        #expect(CRLReason.allCases.map(\.rawValue) == [0, 1, 2, 3, 4, 5, 6, 8, 9, 10])
        #expect(try der(CRLReason.keyCompromise) == [0x0a, 0x01, 0x01])
        #expect(try CRLReason(derEncoded: [0x0a, 0x01, 0x0a]) == .aACompromise)
        #expect(throws: (any Error).self) { try CRLReason(derEncoded: [0x0a, 0x01, 0x07]) }
    }
}
