import CZeroMQ

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// A long-term CURVE key pair (Curve25519): the public half names a peer, the secret half proves it.
///
/// Both halves are available as 40-character Z85 text (for files and command lines) and as 32
/// bytes (for ``SocketOption``). The secret half never appears in `description`, `debugDescription`
/// or a `dump`, so logging a key pair by accident leaks nothing; only ``secretKey`` and
/// ``secretKeyBytes`` give it out.
public struct CurveKeyPair: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible,
  CustomReflectable
{
  /// The public key, 40 Z85 characters. Safe to log, share and put in an allow-list.
  public let publicKey: String
  /// The secret key, 40 Z85 characters. Never log it, print it or send it anywhere.
  public let secretKey: String
  /// The public key, 32 bytes.
  public let publicKeyBytes: [UInt8]
  /// The secret key, 32 bytes.
  public let secretKeyBytes: [UInt8]

  /// The key pair whose secret half is `secretKey` (40 Z85 characters); the public half is derived.
  public init(secretKey: String) throws(ZMQError) {
    let secretBytes = try Self.decodeKey(secretKey, role: "secret")
    self.secretKey = secretKey
    self.secretKeyBytes = secretBytes
    self.publicKey = try Self.publicKey(fromSecret: secretKey)
    self.publicKeyBytes = try Z85.decode(publicKey)
  }

  /// The key pair `publicKey` + `secretKey`, checking that the two halves belong together.
  public init(publicKey: String, secretKey: String) throws(ZMQError) {
    try self.init(secretKey: secretKey)
    _ = try Self.decodeKey(publicKey, role: "public")
    guard self.publicKey == publicKey else {
      throw ZMQError(
        code: .invalidArgument,
        message:
          "The public key \(publicKey) does not belong to this secret key. Regenerate the pair with `metasweep keys generate`."
      )
    }
  }

  /// A fresh random key pair (`zmq_curve_keypair`, libsodium's random source).
  public static func generate() throws(ZMQError) -> CurveKeyPair {
    try requireCurve()
    var publicText = [CChar](repeating: 0, count: 41)
    var secretText = [CChar](repeating: 0, count: 41)
    defer { wipe(&secretText) }
    guard zmq_curve_keypair(&publicText, &secretText) == 0 else {
      throw ZMQError.last("generate a CURVE key pair")
    }
    return try CurveKeyPair(secretKey: string(secretText))
  }

  /// The public key (Z85) that belongs to the secret key `secretKey` (Z85), by `zmq_curve_public`.
  public static func publicKey(fromSecret secretKey: String) throws(ZMQError) -> String {
    try requireCurve()
    _ = try decodeKey(secretKey, role: "secret")
    var publicText = [CChar](repeating: 0, count: 41)
    var secretText = secretKey.utf8.map { CChar(bitPattern: $0) } + [0]
    defer { wipe(&secretText) }
    guard zmq_curve_public(&publicText, secretText) == 0 else {
      throw ZMQError.last("derive a CURVE public key from its secret key")
    }
    return string(publicText)
  }

  /// Decodes a Z85 CURVE key to its 32 bytes; the error says which `role` ("public", "secret",
  /// "server public") was wrong but never repeats the text.
  public static func decodeKey(_ text: String, role: String = "CURVE") throws(ZMQError) -> [UInt8] {
    let characters = Array(text.utf8)
    guard characters.count == 40 else {
      throw ZMQError(
        code: .invalidArgument,
        message: "Not a CURVE \(role) key: it has \(characters.count) characters, but a Z85 key has 40.")
    }
    if let problem = Z85.problem(with: characters) {
      throw ZMQError(code: .invalidArgument, message: "Not a CURVE \(role) key: \(problem).")
    }
    return try Z85.decode(text)
  }

  /// Shows only the public half.
  public var description: String { "CurveKeyPair(public: \(publicKey), secret: <redacted>)" }
  public var debugDescription: String { description }
  public var customMirror: Mirror { Mirror(self, children: ["publicKey": publicKey], displayStyle: .struct) }

  static func requireCurve() throws(ZMQError) {
    guard ZeroMQ.hasCurve else {
      throw ZMQError(
        code: .other(ENOTSUP),
        message:
          "This libzmq has no CURVE support (built without libsodium). Install Debian's libzmq5, or build libzmq with libsodium.",
        errno: ENOTSUP)
    }
  }

  private static func string(_ text: [CChar]) -> String {
    let end = text.firstIndex(of: 0) ?? text.count
    return String(decoding: text[..<end].map { UInt8(bitPattern: $0) }, as: UTF8.self)
  }

  /// Overwrites a buffer that held secret text, so the bytes do not linger in freed memory.
  private static func wipe(_ buffer: inout [CChar]) {
    for index in buffer.indices { buffer[index] = 0 }
  }
}
