#include "CSheduSQLite.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

// sqlite-nio's SQLite, its functions prefixed with sqlite_nio_.
#include "sqlite_nio_sqlite3.h"

int shedu_sqlite_enable_query_planner_stability(void *connection) {
    int enabled = 0;
    return sqlite_nio_sqlite3_db_config((sqlite3 *)connection, SQLITE_DBCONFIG_ENABLE_QPSG, 1, &enabled);
}

// MARK: - The WAL-batching VFS
//
// SQLite writes each WAL frame with two calls (its 24-byte header, then the page). This VFS
// wraps the default one and, for WAL files only, keeps consecutive appends in a buffer written
// with one call. The buffer is written before anything else touches the file (a read, a sync, a
// truncation, its size, a file control, closing) and before anything touches the database's
// shared-memory index (a lock, a barrier, a map), where SQLite publishes frames to readers: so
// no frame is announced, synced or read back before it is in the file. Buffered frames of a
// process that dies are frames never synced: the commit they belong to never happened, as
// without the buffer.
//
// A failed write is reported by the call that made it. With synchronous=FULL, as Shedu's writer
// runs, that is the commit's sync, before the commit is published. Under NORMAL a commit is
// published without a sync, at the index barrier, which cannot report a failure: use this VFS
// with FULL only.

// The unix VFS writes at most 128 KiB in one call (it masks a write's length to 17 bits).
#define SHEDU_WAL_BUFFER_BYTES (120 * 1024)

typedef struct BatchFile BatchFile;
struct BatchFile {
    sqlite3_file base;
    /// The default VFS's file, in the memory just after this struct.
    sqlite3_file *real;
    /// The database file name this file was opened with (the database's own, or for a WAL file,
    /// its database's), to pair a database with its WAL.
    const char *database;
    /// WAL files only: appends not written yet, starting at `bufferOffset`.
    unsigned char *buffer;
    int bufferLength;
    sqlite3_int64 bufferOffset;
    /// A database file's WAL, while both are open.
    BatchFile *wal;
    BatchFile *next;
};

static sqlite3_vfs *defaultVFS;
static sqlite3_vfs batchVFS;
/// Open database files of this VFS, so that a WAL file finds its database.
static BatchFile *openDatabases;
static pthread_mutex_t openDatabasesLock = PTHREAD_MUTEX_INITIALIZER;

static int flushWAL(BatchFile *file) {
    if (file == NULL || file->bufferLength == 0) return SQLITE_OK;
    int length = file->bufferLength;
    file->bufferLength = 0;
    return file->real->pMethods->xWrite(file->real, file->buffer, length, file->bufferOffset);
}

/// The WAL of a database file, whose buffer must be written before its index changes.
static int flushWALOf(BatchFile *database) {
    pthread_mutex_lock(&openDatabasesLock);
    int status = flushWAL(database->wal);
    pthread_mutex_unlock(&openDatabasesLock);
    return status;
}

static int batchClose(sqlite3_file *file) {
    BatchFile *batch = (BatchFile *)file;
    int status = flushWAL(batch);
    pthread_mutex_lock(&openDatabasesLock);
    if (batch->buffer != NULL) {
        // A WAL file: its database no longer points at it.
        for (BatchFile *database = openDatabases; database != NULL; database = database->next) {
            if (database->wal == batch) database->wal = NULL;
        }
    } else {
        for (BatchFile **link = &openDatabases; *link != NULL; link = &(*link)->next) {
            if (*link == batch) {
                *link = batch->next;
                break;
            }
        }
    }
    pthread_mutex_unlock(&openDatabasesLock);
    free(batch->buffer);
    batch->buffer = NULL;
    int closed = batch->real->pMethods->xClose(batch->real);
    return status != SQLITE_OK ? status : closed;
}

static int batchRead(sqlite3_file *file, void *data, int amount, sqlite3_int64 offset) {
    BatchFile *batch = (BatchFile *)file;
    int status = flushWAL(batch);
    if (status != SQLITE_OK) return status;
    return batch->real->pMethods->xRead(batch->real, data, amount, offset);
}

static int batchWrite(sqlite3_file *file, const void *data, int amount, sqlite3_int64 offset) {
    BatchFile *batch = (BatchFile *)file;
    if (batch->buffer == NULL) return batch->real->pMethods->xWrite(batch->real, data, amount, offset);
    int contiguous = batch->bufferLength > 0 && offset == batch->bufferOffset + batch->bufferLength;
    if (batch->bufferLength > 0 && (!contiguous || batch->bufferLength + amount > SHEDU_WAL_BUFFER_BYTES)) {
        int status = flushWAL(batch);
        if (status != SQLITE_OK) return status;
    }
    if (amount > SHEDU_WAL_BUFFER_BYTES) return batch->real->pMethods->xWrite(batch->real, data, amount, offset);
    if (batch->bufferLength == 0) batch->bufferOffset = offset;
    memcpy(batch->buffer + batch->bufferLength, data, (size_t)amount);
    batch->bufferLength += amount;
    return SQLITE_OK;
}

static int batchTruncate(sqlite3_file *file, sqlite3_int64 size) {
    BatchFile *batch = (BatchFile *)file;
    int status = flushWAL(batch);
    if (status != SQLITE_OK) return status;
    return batch->real->pMethods->xTruncate(batch->real, size);
}

static int batchSync(sqlite3_file *file, int flags) {
    BatchFile *batch = (BatchFile *)file;
    int status = flushWAL(batch);
    if (status != SQLITE_OK) return status;
    return batch->real->pMethods->xSync(batch->real, flags);
}

static int batchFileSize(sqlite3_file *file, sqlite3_int64 *size) {
    BatchFile *batch = (BatchFile *)file;
    int status = flushWAL(batch);
    if (status != SQLITE_OK) return status;
    return batch->real->pMethods->xFileSize(batch->real, size);
}

static int batchLock(sqlite3_file *file, int level) {
    BatchFile *batch = (BatchFile *)file;
    return batch->real->pMethods->xLock(batch->real, level);
}

static int batchUnlock(sqlite3_file *file, int level) {
    BatchFile *batch = (BatchFile *)file;
    return batch->real->pMethods->xUnlock(batch->real, level);
}

static int batchCheckReservedLock(sqlite3_file *file, int *reserved) {
    BatchFile *batch = (BatchFile *)file;
    return batch->real->pMethods->xCheckReservedLock(batch->real, reserved);
}

static int batchFileControl(sqlite3_file *file, int operation, void *argument) {
    BatchFile *batch = (BatchFile *)file;
    int status = flushWAL(batch);
    if (status != SQLITE_OK) return status;
    if (batch->buffer == NULL) {
        status = flushWALOf(batch);
        if (status != SQLITE_OK) return status;
    }
    return batch->real->pMethods->xFileControl(batch->real, operation, argument);
}

static int batchSectorSize(sqlite3_file *file) {
    BatchFile *batch = (BatchFile *)file;
    return batch->real->pMethods->xSectorSize(batch->real);
}

static int batchDeviceCharacteristics(sqlite3_file *file) {
    BatchFile *batch = (BatchFile *)file;
    return batch->real->pMethods->xDeviceCharacteristics(batch->real);
}

static int batchShmMap(sqlite3_file *file, int region, int size, int extend, void volatile **memory) {
    BatchFile *batch = (BatchFile *)file;
    int status = flushWALOf(batch);
    if (status != SQLITE_OK) return status;
    return batch->real->pMethods->xShmMap(batch->real, region, size, extend, memory);
}

static int batchShmLock(sqlite3_file *file, int offset, int count, int flags) {
    BatchFile *batch = (BatchFile *)file;
    int status = flushWALOf(batch);
    if (status != SQLITE_OK) return status;
    return batch->real->pMethods->xShmLock(batch->real, offset, count, flags);
}

static void batchShmBarrier(sqlite3_file *file) {
    BatchFile *batch = (BatchFile *)file;
    // Between the two copies of the index header SQLite writes at a commit: its frames must be
    // in the file before the second copy makes them visible (under FULL the sync wrote them).
    (void)flushWALOf(batch);
    batch->real->pMethods->xShmBarrier(batch->real);
}

static int batchShmUnmap(sqlite3_file *file, int deleteFlag) {
    BatchFile *batch = (BatchFile *)file;
    int status = flushWALOf(batch);
    if (status != SQLITE_OK) return status;
    return batch->real->pMethods->xShmUnmap(batch->real, deleteFlag);
}

static int batchFetch(sqlite3_file *file, sqlite3_int64 offset, int amount, void **pointer) {
    BatchFile *batch = (BatchFile *)file;
    int status = flushWAL(batch);
    if (status != SQLITE_OK) return status;
    return batch->real->pMethods->xFetch(batch->real, offset, amount, pointer);
}

static int batchUnfetch(sqlite3_file *file, sqlite3_int64 offset, void *pointer) {
    BatchFile *batch = (BatchFile *)file;
    return batch->real->pMethods->xUnfetch(batch->real, offset, pointer);
}

static const sqlite3_io_methods batchMethods = {
    3, batchClose, batchRead, batchWrite, batchTruncate, batchSync, batchFileSize, batchLock, batchUnlock,
    batchCheckReservedLock, batchFileControl, batchSectorSize, batchDeviceCharacteristics, batchShmMap, batchShmLock,
    batchShmBarrier, batchShmUnmap, batchFetch, batchUnfetch,
};

static int batchOpen(sqlite3_vfs *vfs, sqlite3_filename name, sqlite3_file *file, int flags, int *outFlags) {
    (void)vfs;
    BatchFile *batch = (BatchFile *)file;
    memset(batch, 0, sizeof(BatchFile));
    batch->real = (sqlite3_file *)(batch + 1);
    int isWAL = (flags & SQLITE_OPEN_WAL) != 0;
    int isDatabase = (flags & SQLITE_OPEN_MAIN_DB) != 0;
    if (isWAL) {
        batch->buffer = malloc(SHEDU_WAL_BUFFER_BYTES);
        if (batch->buffer == NULL) return SQLITE_NOMEM;
    }
    int status = defaultVFS->xOpen(defaultVFS, name, batch->real, flags, outFlags);
    if (status != SQLITE_OK) {
        free(batch->buffer);
        batch->buffer = NULL;
        // SQLite calls xClose only on files whose pMethods is set.
        return status;
    }
    if (batch->real->pMethods == NULL || batch->real->pMethods->iVersion < 3) {
        if (batch->real->pMethods != NULL) batch->real->pMethods->xClose(batch->real);
        free(batch->buffer);
        batch->buffer = NULL;
        return SQLITE_CANTOPEN;
    }
    batch->base.pMethods = &batchMethods;
    if (name != NULL && (isWAL || isDatabase)) {
        batch->database = isWAL ? sqlite_nio_sqlite3_filename_database(name) : name;
        pthread_mutex_lock(&openDatabasesLock);
        if (isDatabase) {
            batch->next = openDatabases;
            openDatabases = batch;
        } else {
            for (BatchFile *database = openDatabases; database != NULL; database = database->next) {
                if (database->database != NULL && strcmp(database->database, batch->database) == 0) database->wal = batch;
            }
        }
        pthread_mutex_unlock(&openDatabasesLock);
    }
    return SQLITE_OK;
}

static int batchDelete(sqlite3_vfs *vfs, const char *name, int syncDirectory) {
    (void)vfs;
    return defaultVFS->xDelete(defaultVFS, name, syncDirectory);
}

static int batchAccess(sqlite3_vfs *vfs, const char *name, int flags, int *result) {
    (void)vfs;
    return defaultVFS->xAccess(defaultVFS, name, flags, result);
}

static int batchFullPathname(sqlite3_vfs *vfs, const char *name, int size, char *output) {
    (void)vfs;
    return defaultVFS->xFullPathname(defaultVFS, name, size, output);
}

static void *batchDlOpen(sqlite3_vfs *vfs, const char *name) {
    (void)vfs;
    return defaultVFS->xDlOpen(defaultVFS, name);
}

static void batchDlError(sqlite3_vfs *vfs, int size, char *message) {
    (void)vfs;
    defaultVFS->xDlError(defaultVFS, size, message);
}

static void (*batchDlSym(sqlite3_vfs *vfs, void *library, const char *symbol))(void) {
    (void)vfs;
    return defaultVFS->xDlSym(defaultVFS, library, symbol);
}

static void batchDlClose(sqlite3_vfs *vfs, void *library) {
    (void)vfs;
    defaultVFS->xDlClose(defaultVFS, library);
}

static int batchRandomness(sqlite3_vfs *vfs, int size, char *output) {
    (void)vfs;
    return defaultVFS->xRandomness(defaultVFS, size, output);
}

static int batchSleep(sqlite3_vfs *vfs, int microseconds) {
    (void)vfs;
    return defaultVFS->xSleep(defaultVFS, microseconds);
}

static int batchCurrentTime(sqlite3_vfs *vfs, double *now) {
    (void)vfs;
    return defaultVFS->xCurrentTime(defaultVFS, now);
}

static int batchGetLastError(sqlite3_vfs *vfs, int size, char *message) {
    (void)vfs;
    return defaultVFS->xGetLastError(defaultVFS, size, message);
}

static int batchCurrentTimeInt64(sqlite3_vfs *vfs, sqlite3_int64 *now) {
    (void)vfs;
    return defaultVFS->xCurrentTimeInt64(defaultVFS, now);
}

static int registrationStatus = SQLITE_OK;
static pthread_once_t registration = PTHREAD_ONCE_INIT;

static void registerBatchVFS(void) {
    defaultVFS = sqlite_nio_sqlite3_vfs_find(NULL);
    if (defaultVFS == NULL || defaultVFS->iVersion < 2) {
        registrationStatus = SQLITE_ERROR;
        return;
    }
    batchVFS.iVersion = 2;
    batchVFS.szOsFile = (int)sizeof(BatchFile) + defaultVFS->szOsFile;
    batchVFS.mxPathname = defaultVFS->mxPathname;
    batchVFS.zName = SHEDU_SQLITE_BATCH_VFS;
    batchVFS.xOpen = batchOpen;
    batchVFS.xDelete = batchDelete;
    batchVFS.xAccess = batchAccess;
    batchVFS.xFullPathname = batchFullPathname;
    batchVFS.xDlOpen = batchDlOpen;
    batchVFS.xDlError = batchDlError;
    batchVFS.xDlSym = batchDlSym;
    batchVFS.xDlClose = batchDlClose;
    batchVFS.xRandomness = batchRandomness;
    batchVFS.xSleep = batchSleep;
    batchVFS.xCurrentTime = batchCurrentTime;
    batchVFS.xGetLastError = batchGetLastError;
    batchVFS.xCurrentTimeInt64 = batchCurrentTimeInt64;
    registrationStatus = sqlite_nio_sqlite3_vfs_register(&batchVFS, 0);
}

int shedu_sqlite_register_batch_vfs(void) {
    pthread_once(&registration, registerBatchVFS);
    return registrationStatus;
}
