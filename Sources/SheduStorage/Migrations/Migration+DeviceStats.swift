extension Migration {
    /// Device counts by status within one DMS (the stats of a DMS's fleet) read from an index
    /// alone, rather than visiting each of its devices' rows.
    static let deviceStatsByDMS = Migration(version: 5, name: "devices by dms and status") { _ in
        ["CREATE INDEX devices_dms_status ON devices (dms_owner, status)"]
    }
}
