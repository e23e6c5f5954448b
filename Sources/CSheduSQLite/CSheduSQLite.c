#include "CSheduSQLite.h"

// sqlite-nio's SQLite, with its symbols prefixed; its header is not visible to this target, so
// the one function used is declared here as sqlite3.h declares it.
int sqlite_nio_sqlite3_db_config(void *connection, int op, ...);

#define SHEDU_SQLITE_DBCONFIG_ENABLE_QPSG 1007

int shedu_sqlite_enable_query_planner_stability(void *connection) {
    int enabled = 0;
    return sqlite_nio_sqlite3_db_config(connection, SHEDU_SQLITE_DBCONFIG_ENABLE_QPSG, 1, &enabled);
}
