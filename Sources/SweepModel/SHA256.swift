import Crypto

/// SHA-256 (FIPS 180-4) for run keys, checksums and identities, computed by swift-crypto (BoringSSL's
/// implementation, with the CPU's SHA extensions where it has them).
public enum SHA256 {
  /// The digest of `bytes`.
  public static func digest(_ bytes: some Collection<UInt8>) -> [UInt8] {
    var state = State()
    state.update(bytes)
    return state.finalize()
  }

  /// Whether `text` is a digest as ``hexString(_:)`` writes it: 64 lower-case hexadecimal digits.
  public static func isDigestHex(_ text: some StringProtocol) -> Bool {
    text.utf8.count == 64 && text.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
  }

  /// The digest of the UTF-8 text, as lower-case hex.
  public static func hex(_ text: String) -> String {
    var text = text
    var state = State()
    text.withUTF8 { state.hasher.update(bufferPointer: UnsafeRawBufferPointer($0)) }
    return hexString(state.finalize())
  }

  /// Lower-case hex of `bytes`.
  public static func hexString(_ bytes: [UInt8]) -> String {
    let digits = Array("0123456789abcdef".utf8)
    return String(unsafeUninitializedCapacity: bytes.count * 2) { out in
      for (index, byte) in bytes.enumerated() {
        out[2 * index] = digits[Int(byte >> 4)]
        out[2 * index + 1] = digits[Int(byte & 15)]
      }
      return bytes.count * 2
    }
  }

  /// HMAC-SHA256 (RFC 2104) of `bytes` under `key`: 32 bytes.
  public static func authenticationCode(_ bytes: some Collection<UInt8>, key: [UInt8]) -> [UInt8] {
    Array(Crypto.HMAC<Crypto.SHA256>.authenticationCode(for: Array(bytes), using: SymmetricKey(data: key)))
  }

  /// Whether `code` is the HMAC-SHA256 of `bytes` under `key`, compared in constant time.
  public static func isValidAuthenticationCode(
    _ code: some Collection<UInt8>, for bytes: some Collection<UInt8>, key: [UInt8]
  ) -> Bool {
    Crypto.HMAC<Crypto.SHA256>.isValidAuthenticationCode(
      Array(code), authenticating: Array(bytes), using: SymmetricKey(data: key))
  }

  /// An incremental hasher: `update` any number of times, then `finalize` once.
  public struct State: Sendable {
    fileprivate var hasher = Crypto.SHA256()

    public init() {}

    /// Adds `bytes` to the message.
    public mutating func update(_ bytes: some Collection<UInt8>) {
      let isDone = bytes.withContiguousStorageIfAvailable {
        hasher.update(bufferPointer: UnsafeRawBufferPointer($0))
        return true
      }
      if isDone == nil { hasher.update(data: Array(bytes)) }
    }

    /// The digest of everything added.
    public func finalize() -> [UInt8] { Array(hasher.finalize()) }
  }
}
