import Foundation
import SheduCore
import Synchronization

/// An exclusive lock that makes an embedded (SQLite) database one server's: a second server on
/// the same file would keep its own caches, and answer OCSP and CRLs from them after the first
/// revoked a certificate. Replicas share PostgreSQL, which needs no such lock; tools that open
/// the database for a moment (`shedu client-cert`) do not take it.
///
/// The lock is a `flock` on a file beside the database, named after the database's real path
/// (a symbolic link to it takes the same lock). SQLite's own locks are POSIX record locks on the
/// database file, which closing any other descriptor of that file in the process would drop:
/// so the lock is never taken on the database file itself.
public final class SQLiteServerLock: Sendable {
    private let descriptor: Mutex<Int32?>
    public let path: String

    private init(descriptor: Int32, path: String) {
        self.descriptor = Mutex(descriptor)
        self.path = path
    }

    /// Takes the lock of the database at `location`; nil for PostgreSQL. Makes the database's
    /// folder if there is none yet (0700), as the first start does.
    public static func acquire(for location: DatabaseLocation) throws -> SQLiteServerLock? {
        guard case .sqlite(let databasePath) = location else { return nil }
        let database = URL(fileURLWithPath: databasePath)
        let folder = database.deletingLastPathComponent()
        var isFolder: ObjCBool = false
        if FileManager.default.fileExists(atPath: folder.path, isDirectory: &isFolder) {
            guard isFolder.boolValue else { throw SheduError.unavailable("\(folder.path) exists and is not a folder") }
        } else {
            do {
                try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            } catch {
                throw SheduError.unavailable("cannot create the data folder \(folder.path): \(SheduError.reason(ofFileError: error))")
            }
        }
        let real = database.resolvingSymlinksInPath().path
        let lockPath = real + ".lock"
        let descriptor = open(lockPath, O_RDONLY | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw SheduError.unavailable("cannot open \(lockPath): \(String(cString: strerror(errno)).lowercased())")
        }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            close(descriptor)
            throw SheduError.unavailable(
                "another Shedu server is running on the SQLite database \(real) (it holds \(lockPath)): one server per embedded database; replicas share PostgreSQL")
        }
        return SQLiteServerLock(descriptor: descriptor, path: lockPath)
    }

    /// Lets another server take the database.
    public func release() {
        if let descriptor = descriptor.withLock({ $0.take() }) { close(descriptor) }
    }

    deinit {
        release()
    }
}
