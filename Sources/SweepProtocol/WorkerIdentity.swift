import SweepModel

/// What the transport knows of a message's sender beyond its routing id, which a peer may choose.
public struct PeerInfo: Sendable, Equatable {
  /// The sender's network address as the transport reports it (`127.0.0.1`), or empty: for logs.
  public var address: String
  /// Who the transport authenticated the connection as (under CURVE, the allow-list name of the
  /// sender's key), or nil for a plaintext connection. A peer cannot choose it.
  public var authenticatedID: String?

  public init(address: String = "", authenticatedID: String? = nil) {
    self.address = address
    self.authenticatedID = authenticatedID
  }
}

/// The worker process that holds a lease, whichever connection it speaks over.
///
/// A digest of the random session bytes the process sent in its hello and, under CURVE, the
/// allow-list name its key was admitted as. The journal stores the digest, never the session, so
/// reading a journal tells nobody how to pass for one of its workers.
public struct WorkerIdentity: Sendable, Hashable, CustomStringConvertible {
  /// 32 lower-case hex digits: the first 16 bytes of SHA-256(session ‖ 0x00 ‖ authenticated id).
  public let digest: String

  /// The identity of the process that greeted with `session` over a connection authenticated as
  /// `authenticatedID` (nil: plaintext).
  public init(session: [UInt8], authenticatedID: String?) {
    var input = session
    input.append(0)
    if let authenticatedID {
      input.append(1)
      input.append(contentsOf: authenticatedID.utf8)
    }
    digest = String(SHA256.hexString(SHA256.digest(input)).prefix(32))
  }

  /// An identity read back from the journal.
  public init(digest: String) { self.digest = digest }

  public var description: String { digest }
}
