extension Migration {
    /// DMS records, devices with their status windows, device tags, device groups.
    static let devices = Migration(version: 3, name: "dms, devices, device tags, device groups") { dialect in
        let text = dialect.textType
        let json = dialect.jsonType
        return [
            """
            CREATE TABLE dms (
                id \(text) PRIMARY KEY,
                name \(text) NOT NULL,
                metadata \(json) NOT NULL,
                settings \(json) NOT NULL,
                created_at BIGINT NOT NULL
            )
            """,
            "CREATE INDEX dms_created ON dms (created_at, id)",
            "CREATE INDEX dms_name ON dms (name, id)",
            // The windows (*_at, milliseconds) are those of the active certificate; next_window_at is
            // the next of them still ahead, so the monitor finds due devices in one index range.
            """
            CREATE TABLE devices (
                id \(text) PRIMARY KEY,
                dms_owner \(text) NOT NULL REFERENCES dms (id),
                status \(text) NOT NULL,
                tags \(json) NOT NULL,
                metadata \(json) NOT NULL,
                icon \(text) NOT NULL,
                icon_color \(text) NOT NULL,
                created_at BIGINT NOT NULL,
                identity \(json),
                events \(json) NOT NULL,
                active_serial \(text),
                preventive_at BIGINT,
                critical_at BIGINT,
                expires_at BIGINT,
                next_window_at BIGINT
            )
            """,
            "CREATE INDEX devices_created ON devices (created_at, id)",
            "CREATE INDEX devices_status ON devices (status, created_at, id)",
            "CREATE INDEX devices_dms ON devices (dms_owner, created_at, id)",
            "CREATE INDEX devices_active_serial ON devices (active_serial) WHERE active_serial IS NOT NULL",
            "CREATE INDEX devices_next_window ON devices (next_window_at) WHERE next_window_at IS NOT NULL",
            // One row per tag of a device, ordered as device lists are, so a tag filter walks an index.
            """
            CREATE TABLE device_tags (
                tag \(text) NOT NULL,
                created_at BIGINT NOT NULL,
                device_id \(text) NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
                PRIMARY KEY (tag, created_at, device_id)
            )
            """,
            "CREATE INDEX device_tags_device ON device_tags (device_id)",
            """
            CREATE TABLE device_groups (
                id \(text) PRIMARY KEY,
                name \(text) NOT NULL UNIQUE,
                description \(text) NOT NULL,
                parent_id \(text) REFERENCES device_groups (id) ON DELETE CASCADE,
                criteria \(json) NOT NULL,
                created_at BIGINT NOT NULL,
                updated_at BIGINT NOT NULL
            )
            """,
            "CREATE INDEX device_groups_parent ON device_groups (parent_id)",
            "CREATE INDEX device_groups_created ON device_groups (created_at, id)",
        ]
    }
}
