import Crypto
import Foundation
import Logging
import SheduCore
import SheduPKI
import SheduStorage
import SwiftASN1
import X509

/// Credentials for a machine client of the API, made in one step from a data folder
/// (`shedu client-cert create`): a key, and a certificate of an API client CA that carries the
/// client's role.
public enum APIClientCredentials {
    /// The CA used when none is named; made on first use and flagged as an API client CA.
    public static let defaultCAID = "shedu-api-clients"

    public struct Issued: Sendable {
        public var certificatePEM: String
        public var keyPEM: String
        public var caID: String
        public var serialNumber: String
    }

    /// Issues a certificate for `subject` with `role` from the CA `caID` (the default CA, made if
    /// missing, when nil), valid `lifetime`. The server may be running: SQLite serves both.
    public static func issue(
        configuration: ServerConfiguration, subject: String, role: Role, caID: String?, lifetime: TimeDuration,
        logger: Logger
    ) async throws -> Issued {
        let dataFolder = DataFolder(path: configuration.dataDirectory)
        try dataFolder.prepare(serverNames: DataFolder.serverNames(host: configuration.host))
        let database = try await SheduDatabase.open(try DatabaseLocation(url: configuration.resolvedDatabaseURL), logger: logger)
        do {
            let services = SheduServices(
                database: database, masterKey: try dataFolder.readMasterKey(), clock: SystemClock(),
                publicURL: configuration.resolvedPublicURL)
            let issued = try await issue(services: services, subject: subject, role: role, caID: caID, lifetime: lifetime)
            await database.close()
            return issued
        } catch {
            await database.close()
            throw error
        }
    }

    static func issue(services: SheduServices, subject: String, role: Role, caID: String?, lifetime: TimeDuration) async throws
        -> Issued
    {
        let authority = caID ?? defaultCAID
        if caID == nil, (try? await services.ca.ca(id: authority)) == nil {
            let request = try JSONValueDecoder.decode(
                CreateCARequest.self,
                from: .object([
                    "id": .string(authority), "subject": ["common_name": "Shedu API clients", "organization": "Shedu"],
                    "key_metadata": ["type": "ECDSA", "bits": 256], "ca_expiration": ["type": "Duration", "duration": "10y"],
                    "metadata": .object([APIClientCertificates.metadataKey: true]),
                ]))
            _ = try await services.ca.createCA(request)
        }
        let key = try SigningKey.generate(try KeySpec(algorithm: .ecdsa, bits: 256))
        var extensions = Certificate.Extensions()
        try extensions.append(
            Certificate.Extension(
                SubjectAlternativeNames([.uniformResourceIdentifier(APIClientCertificates.roleURIPrefix + role.rawValue)]),
                critical: false))
        var attributes = CertificateSigningRequest.Attributes()
        attributes.insert(try CertificateSigningRequest.Attribute(ExtensionRequest(extensions: extensions)))
        let csr = try CertificateSigningRequest(
            version: .v1, subject: try DistinguishedName { CommonName(subject) }, privateKey: key.certificateKey,
            attributes: attributes, signatureAlgorithm: key.spec.certificateSignatureAlgorithm)
        var serializer = DER.Serializer()
        try serializer.serialize(csr)
        let profile = IssuanceProfile(
            id: "api-client", name: "API client", validity: .duration(lifetime), keyUsage: [.digitalSignature],
            extendedKeyUsages: [.clientAuth], honorSubject: true, honorExtensions: true)
        let record = try await services.ca.sign(
            caID: authority, SignCertificateRequest(csr: Data(serializer.serializedBytes).base64EncodedString(), profile: profile))
        return Issued(
            certificatePEM: PEMText.pem(derCertificate: record.der),
            keyPEM: PEMText.pem(derCertificate: key.pkcs8DERRepresentation, discriminator: "PRIVATE KEY"), caID: authority,
            serialNumber: record.serialNumber)
    }
}
