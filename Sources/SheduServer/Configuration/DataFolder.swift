import Crypto
import Foundation
import SheduCore
import SheduPKI

/// The server's data folder: TLS material, the token signing key and the master key, made on first
/// start and reused after (DESIGN.md). Secrets are written with mode 0600 in a 0700 folder.
public struct DataFolder: Sendable {
    public let path: URL

    public var serverCertificate: URL { path.appendingPathComponent("tls/server.pem") }
    public var serverKey: URL { path.appendingPathComponent("tls/server-key.pem") }
    /// The chain clients trust for the HTTPS listener.
    public var caCertificate: URL { path.appendingPathComponent("tls/ca.pem") }
    /// The local CA's key, kept so the server certificate can be renewed under the same trust anchor.
    public var caKey: URL { path.appendingPathComponent("tls/ca-key.pem") }
    public var tokenSigningKey: URL { path.appendingPathComponent("auth/signing-key.pem") }
    public var masterKey: URL { path.appendingPathComponent("master.key") }

    public init(path: String) {
        self.path = URL(fileURLWithPath: path).standardizedFileURL
    }

    /// Creates what is missing and returns the folder ready to use.
    ///
    /// - Parameter serverNames: the names the server certificate must cover; it is reissued when
    ///   one is missing or it expires within 30 days.
    public func prepare(serverNames: [String], now: Date = Date()) throws {
        try createDirectory(path)
        try createDirectory(path.appendingPathComponent("tls"))
        try createDirectory(path.appendingPathComponent("auth"))

        if !exists(masterKey) {
            let key = SymmetricKey(size: .bits256)
            try write(key.withUnsafeBytes { Data($0) }, to: masterKey)
        }
        // Secrets an earlier version or an operator left readable to others become the server's alone.
        for secret in [masterKey, tokenSigningKey, caKey, serverKey] where exists(secret) {
            chmod(secret.path, 0o600)
        }
        if !exists(tokenSigningKey) {
            try write(Data(P256.Signing.PrivateKey().pemRepresentation.utf8), to: tokenSigningKey)
        }
        if !exists(caCertificate) || !exists(caKey) {
            let ca = try LocalTLSAuthority.makeCA(commonName: "Shedu local CA \(Self.hostName())", now: now)
            try write(Data(ca.privateKeyPEM.utf8), to: caKey)
            try write(Data(ca.certificatePEM.utf8), to: caCertificate, mode: 0o644)
            try? FileManager.default.removeItem(at: serverCertificate)
        }
        if try serverCertificateNeedsRenewal(names: serverNames, now: now) {
            let dnsNames = serverNames.filter { LocalTLSAuthority.ipAddressBytes($0) == nil }
            let ipAddresses = serverNames.filter { LocalTLSAuthority.ipAddressBytes($0) != nil }
            let issued = try LocalTLSAuthority.makeServerCertificate(
                dnsNames: dnsNames, ipAddresses: ipAddresses, caCertificatePEM: try read(caCertificate),
                caPrivateKeyPEM: try read(caKey), now: now)
            try write(Data(issued.privateKeyPEM.utf8), to: serverKey)
            try write(Data(issued.certificatePEM.utf8), to: serverCertificate, mode: 0o644)
        }
    }

    /// The names a server started with `host` answers to: localhost, the loopback addresses,
    /// the machine's name, and the bind address when it is a specific one.
    public static func serverNames(host: String) -> [String] {
        var names = ["localhost", "127.0.0.1", "::1", hostName()]
        if !["0.0.0.0", "::", ""].contains(host), !names.contains(host) { names.append(host) }
        return names
    }

    static func hostName() -> String {
        ProcessInfo.processInfo.hostName.isEmpty ? "localhost" : ProcessInfo.processInfo.hostName
    }

    public func read(_ file: URL) throws -> String {
        do {
            return try String(contentsOf: file, encoding: .utf8)
        } catch {
            throw SheduError.unavailable("cannot read \(file.path): \(SheduError.reason(ofFileError: error))")
        }
    }

    public func readMasterKey() throws -> SymmetricKey {
        let data: Data
        do {
            data = try Data(contentsOf: masterKey)
        } catch {
            throw SheduError.unavailable("cannot read \(masterKey.path): \(SheduError.reason(ofFileError: error))")
        }
        guard data.count == 32 else {
            throw SheduError.unavailable("\(masterKey.path) is not a 32-byte key")
        }
        return SymmetricKey(data: data)
    }

    private func serverCertificateNeedsRenewal(names: [String], now: Date) throws -> Bool {
        guard exists(serverCertificate), exists(serverKey),
            let covered = try? LocalTLSAuthority.coveredNames(certificatePEM: try read(serverCertificate))
        else { return true }
        if covered.notAfter < now.addingTimeInterval(30 * 86_400) { return true }
        for name in names {
            if let bytes = LocalTLSAuthority.ipAddressBytes(name) {
                if !covered.ip.contains(bytes) { return true }
            } else if !covered.dns.contains(name) {
                return true
            }
        }
        return false
    }

    private func exists(_ file: URL) -> Bool {
        FileManager.default.fileExists(atPath: file.path)
    }

    private func createDirectory(_ directory: URL) throws {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else {
                throw SheduError.unavailable("\(directory.path) exists and is not a folder")
            }
            guard FileManager.default.isWritableFile(atPath: directory.path),
                FileManager.default.isReadableFile(atPath: directory.path)
            else {
                throw SheduError.unavailable("the data folder \(directory.path) is not readable and writable")
            }
            return
        }
        do {
            try FileManager.default.createDirectory(
                at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw SheduError.unavailable("cannot create the data folder \(directory.path): \(SheduError.reason(ofFileError: error))")
        }
    }

    /// Writes through a synced temporary file and a rename, so a crash never leaves half a key.
    private func write(_ data: Data, to file: URL, mode: mode_t = 0o600) throws {
        let temporary = file.deletingLastPathComponent().appendingPathComponent(".\(file.lastPathComponent).tmp")
        let descriptor = open(temporary.path, O_WRONLY | O_CREAT | O_TRUNC, mode)
        // The mode asked for, whatever the umask (`serve` runs with 077; certificates are public).
        guard descriptor >= 0, fchmod(descriptor, mode) == 0 else {
            if descriptor >= 0 { close(descriptor) }
            throw SheduError.unavailable("cannot write \(file.path): \(String(cString: strerror(errno)))")
        }
        let written = data.withUnsafeBytes { Foundation.write(descriptor, $0.baseAddress, $0.count) }
        let synced = fsync(descriptor)
        close(descriptor)
        guard written == data.count, synced == 0, rename(temporary.path, file.path) == 0 else {
            throw SheduError.unavailable("cannot write \(file.path): \(String(cString: strerror(errno)))")
        }
    }
}
