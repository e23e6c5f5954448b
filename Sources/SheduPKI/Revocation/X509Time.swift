import Foundation
import SwiftASN1

/// RFC 5280's `Time ::= CHOICE { utcTime UTCTime, generalTime GeneralizedTime }`, chosen as
/// §4.1.2.5 and §5.1.2.4–6 require: UTCTime for 1950 through 2049, GeneralizedTime otherwise.
///
/// CRLs use it for thisUpdate, nextUpdate and revocationDate (OCSP always uses GeneralizedTime).
public enum X509Time: Hashable, Sendable {
    case utcTime(UTCTime)
    case generalizedTime(GeneralizedTime)

    /// The time of `date` at whole seconds, in the encoding RFC 5280 prescribes for its year.
    public init(_ date: Date) throws {
        let fields = try UTCDateComponents(date)
        if (1950...2049).contains(fields.year) {
            self = .utcTime(
                try UTCTime(
                    year: fields.year, month: fields.month, day: fields.day, hours: fields.hours,
                    minutes: fields.minutes, seconds: fields.seconds))
        } else {
            self = .generalizedTime(try GeneralizedTime(date))
        }
    }

    /// The instant this time names.
    public var date: Date {
        switch self {
        case .utcTime(let time): time.date
        case .generalizedTime(let time): time.date
        }
    }
}

extension X509Time: DERParseable, DERSerializable {
    public init(derEncoded rootNode: ASN1Node) throws {
        switch rootNode.identifier {
        case UTCTime.defaultIdentifier: self = .utcTime(try UTCTime(derEncoded: rootNode))
        case GeneralizedTime.defaultIdentifier: self = .generalizedTime(try GeneralizedTime(derEncoded: rootNode))
        default: throw ASN1Error.unexpectedFieldType(rootNode.identifier)
        }
    }

    public func serialize(into coder: inout DER.Serializer) throws {
        switch self {
        case .utcTime(let time): try coder.serialize(time)
        case .generalizedTime(let time): try coder.serialize(time)
        }
    }
}
