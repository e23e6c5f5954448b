#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// A program the tests run (openssl, curl, pkilint, the `shedu` executable), started with
/// `posix_spawn`.
///
/// Not Foundation's `Process`: on this toolchain its `run()` now and then crashes the test
/// process, reading past a `/proc/self/fd` directory entry (swift-corelibs-foundation#5472), and
/// the suite starts hundreds of programs while other tests hold many descriptors open.
public final class ChildProcess: Sendable {
    /// Where one of the child's standard streams goes.
    public enum Stream: Sendable {
        /// This process's own.
        case inherited
        /// `/dev/null`.
        case discarded
        /// A file, created or truncated (written) or read from its start.
        case file(String)
    }

    public let pid: pid_t
    private let exitStatus = Mutex<Int32?>(nil)

    /// Starts `executable` (a path, or a name looked up on the PATH) with `arguments`.
    /// - Parameters:
    ///   - environment: the child's whole environment; nil passes this process's own.
    ///   - directory: the child's working directory; nil keeps this process's.
    public convenience init(
        _ executable: String, _ arguments: [String], environment: [String: String]? = nil, directory: String? = nil,
        input: Stream = .discarded, output: Stream = .inherited, errors: Stream = .inherited
    ) throws {
        var redirections: [Redirection] = []
        for (descriptor, stream) in [(Int32(0), input), (1, output), (2, errors)] {
            switch stream {
            case .inherited: break
            case .discarded: redirections.append(.open(descriptor, "/dev/null", descriptor == 0 ? O_RDONLY : O_WRONLY))
            case .file(let path):
                redirections.append(.open(descriptor, path, descriptor == 0 ? O_RDONLY : O_WRONLY | O_CREAT | O_TRUNC))
            }
        }
        try self.init(executable, arguments, environment: environment, directory: directory, redirections: redirections)
    }

    private enum Redirection {
        case open(Int32, String, Int32)
        case duplicate(from: Int32, to: Int32)
    }

    private init(
        _ executable: String, _ arguments: [String], environment: [String: String]?, directory: String?,
        redirections: [Redirection]
    ) throws {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        for redirection in redirections {
            switch redirection {
            case .open(let descriptor, let path, let flags):
                posix_spawn_file_actions_addopen(&actions, descriptor, path, flags, 0o644)
            case .duplicate(let from, let to):
                posix_spawn_file_actions_adddup2(&actions, from, to)
            }
        }
        // Descriptors this process holds (sockets, other children's pipes) stay out of the child,
        // as with Process: a child must not keep another's pipe open.
        if let closeFrom = SpawnExtensions.closeFrom { _ = closeFrom(&actions, 3) }
        if let directory {
            guard let changeDirectory = SpawnExtensions.changeDirectory else {
                throw ChildProcessError("posix_spawn cannot set a working directory here")
            }
            _ = changeDirectory(&actions, directory)
        }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // The child starts with no blocked signal and the default handling of the ones tests send.
        var none = sigset_t()
        sigemptyset(&none)
        posix_spawnattr_setsigmask(&attributes, &none)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGPIPE, SIGTERM, SIGINT, SIGHUP, SIGCHLD] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        let environmentEntries = environment.map { $0.map { "\($0.key)=\($0.value)" } }
        let envp = environmentEntries.map { $0.map { strdup($0) } + [nil] }
        defer { for pointer in envp ?? [] { free(pointer) } }

        var pid: pid_t = 0
        let status = argv.withUnsafeBufferPointer { arguments in
            let argumentsPointer = UnsafeMutablePointer(mutating: arguments.baseAddress!)
            if let envp {
                return envp.withUnsafeBufferPointer { environment in
                    posix_spawnp(&pid, executable, &actions, &attributes, argumentsPointer,
                        UnsafeMutablePointer(mutating: environment.baseAddress!))
                }
            }
            return posix_spawnp(&pid, executable, &actions, &attributes, argumentsPointer, environ)
        }
        guard status == 0 else {
            throw ChildProcessError("cannot start \(executable): \(String(cString: strerror(status)))")
        }
        self.pid = pid
    }

    /// Whether the child has not exited yet.
    public var isRunning: Bool { reap(blocking: false) == nil }

    /// The exit code, or the signal that ended the child; nil while it runs.
    public var terminationStatus: Int32? { reap(blocking: false) }

    /// Waits for the child to end; its exit code, or the signal that ended it.
    @discardableResult
    public func waitUntilExit() -> Int32 {
        reap(blocking: true) ?? -1
    }

    public func signal(_ signal: Int32) {
        guard isRunning else { return }
        kill(pid, signal)
    }

    private func reap(blocking: Bool) -> Int32? {
        exitStatus.withLock { known in
            if let known { return known }
            var raw: Int32 = 0
            while true {
                let result = waitpid(pid, &raw, blocking ? 0 : WNOHANG)
                if result == pid { break }
                if result == -1 && errno == EINTR { continue }
                return nil
            }
            let signal = raw & 0x7f
            known = signal == 0 ? (raw >> 8) & 0xff : signal
            return known
        }
    }

    /// Runs a program to its end, feeding it `input`, and returns its exit status and what it
    /// wrote to standard output and error (or both in `output`, with `mergingErrors`).
    public static func run(
        _ executable: String, _ arguments: [String], input: [UInt8]? = nil, directory: String? = nil,
        mergingErrors: Bool = false
    ) throws -> (status: Int32, output: String, errors: String) {
        let inputPipe = try Pipe()
        let outputPipe = try Pipe()
        let errorPipe = try Pipe()
        defer { for pipe in [inputPipe, outputPipe, errorPipe] { pipe.closeBoth() } }
        let child = try ChildProcess(
            executable, arguments, environment: nil, directory: directory,
            redirections: [
                .duplicate(from: inputPipe.readEnd, to: 0), .duplicate(from: outputPipe.writeEnd, to: 1),
                .duplicate(from: mergingErrors ? outputPipe.writeEnd : errorPipe.writeEnd, to: 2),
            ])
        inputPipe.closeRead()
        outputPipe.closeWrite()
        errorPipe.closeWrite()
        if let input { inputPipe.writeAll(input) }
        inputPipe.closeWrite()
        let (output, errors) = readToEnd(outputPipe.readEnd, errorPipe.readEnd)
        let status = child.waitUntilExit()
        return (status, String(decoding: output, as: UTF8.self), String(decoding: errors, as: UTF8.self))
    }

    /// Reads both descriptors until each is at its end, whichever the child writes first.
    private static func readToEnd(_ first: Int32, _ second: Int32) -> ([UInt8], [UInt8]) {
        var collected: [[UInt8]] = [[], []]
        var open = [first, second]
        var buffer = [UInt8](repeating: 0, count: 65536)
        while open.contains(where: { $0 >= 0 }) {
            var polled = open.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
            let ready = poll(&polled, nfds_t(polled.count), -1)
            if ready < 0 {
                if errno == EINTR { continue }
                break
            }
            for index in polled.indices where open[index] >= 0 && polled[index].revents != 0 {
                let count = buffer.withUnsafeMutableBytes { read(open[index], $0.baseAddress, $0.count) }
                if count > 0 {
                    collected[index] += buffer[0..<count]
                } else if count == 0 || errno != EINTR {
                    open[index] = -1
                }
            }
        }
        return (collected[0], collected[1])
    }

    /// A pipe whose ends are closed on exec: only the copies a child is given survive in it.
    private final class Pipe {
        private(set) var readEnd: Int32
        private(set) var writeEnd: Int32

        init() throws {
            var ends: [Int32] = [0, 0]
            guard pipe(&ends) == 0 else {
                throw ChildProcessError("cannot make a pipe: \(String(cString: strerror(errno)))")
            }
            // Children get only the copies made for them: every spawn here also closes from 3 up.
            for end in ends { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
            readEnd = ends[0]
            writeEnd = ends[1]
        }

        func closeRead() {
            if readEnd >= 0 { close(readEnd) }
            readEnd = -1
        }

        func closeWrite() {
            if writeEnd >= 0 { close(writeEnd) }
            writeEnd = -1
        }

        func closeBoth() {
            closeRead()
            closeWrite()
        }

        func writeAll(_ bytes: [UInt8]) {
            var offset = 0
            while offset < bytes.count {
                let written = bytes.withUnsafeBytes { write(writeEnd, $0.baseAddress! + offset, $0.count - offset) }
                if written < 0 {
                    if errno == EINTR { continue }
                    return  // the child stopped reading; what it printed says why
                }
                offset += written
            }
        }
    }
}

public struct ChildProcessError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// glibc's `posix_spawn` file actions that Swift's Glibc module does not import.
private enum SpawnExtensions {
    typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
    typealias ChangeDirectory = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, UnsafePointer<CChar>) -> Int32

    static let closeFrom: CloseFrom? = symbol("posix_spawn_file_actions_addclosefrom_np")
    static let changeDirectory: ChangeDirectory? = symbol("posix_spawn_file_actions_addchdir_np")

    private static func symbol<T>(_ name: String) -> T? {
        guard let address = dlsym(UnsafeMutableRawPointer(bitPattern: 0), name) else { return nil }
        return unsafeBitCast(address, to: T.self)
    }
}
