extension Migration {
    /// Live certificates by expiry with their serial number, the order of both the expiry monitor
    /// and `/certificates/expiration`: a window of a million certificates pages from the index
    /// instead of being sorted.
    static let liveExpiryOrder = Migration(version: 7, name: "live certificates by expiry and serial") { _ in
        [
            "DROP INDEX certificates_live_valid_to",
            "CREATE INDEX certificates_live_valid_to ON certificates (valid_to, serial_number) WHERE status IN ('ACTIVE', 'INACTIVE')",
        ]
    }
}
