#ifndef CSHEDU_SQLITE_H
#define CSHEDU_SQLITE_H

/// Turns on SQLite's query planner stability guarantee (SQLITE_DBCONFIG_ENABLE_QPSG) for a
/// connection of the SQLite that sqlite-nio builds; returns SQLite's result code.
///
/// sqlite3_db_config is variadic, which Swift cannot call: this is the one call made from C.
int shedu_sqlite_enable_query_planner_stability(void *connection);

/// The name of the VFS that writes a WAL's frames in one call per batch instead of two per frame
/// (see CSheduSQLite.c), for the connection that writes.
#define SHEDU_SQLITE_BATCH_VFS "shedu-wal-batch"

/// Registers that VFS (once; later calls return the first result); returns SQLite's result code.
int shedu_sqlite_register_batch_vfs(void);

#endif
