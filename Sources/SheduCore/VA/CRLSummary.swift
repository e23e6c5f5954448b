import Foundation

/// Number and validity of an issued CRL.
public struct CRLSummary: Sendable, Hashable {
    public var number: UInt64
    public var thisUpdate: Date
    public var nextUpdate: Date

    public init(number: UInt64, thisUpdate: Date, nextUpdate: Date) {
        self.number = number
        self.thisUpdate = thisUpdate
        self.nextUpdate = nextUpdate
    }
}
