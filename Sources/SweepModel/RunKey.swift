/// The identity of a run: SHA-256 of the canonical JSON of experiment, parameters and seed.
///
/// Two sweeps that contain the same (experiment, parameters, seed) share the run key, so widening
/// a grid reuses finished runs. The variant's display name is not part of the key.
public struct RunKey: Sendable, Hashable, Comparable, CustomStringConvertible {
  /// Lower-case hexadecimal SHA-256 digest (64 characters).
  public let hex: String
  /// The digest's first 8 bytes, read once: a key is hashed and compared by these first. The
  /// coordinator looks every finished run up about ten times, and hashing and comparing all 64
  /// characters each time took about a tenth of its loop thread's samples (`perf record`).
  private let head: UInt64

  public init(hex: String) {
    self.hex = hex
    var head: UInt64 = 0
    for byte in hex.utf8.prefix(16) {
      // A malformed key (only tests make them) still gets a head; equality reads all of `hex`.
      let digit =
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        default: byte & 0xF
        }
      head = head << 4 | UInt64(digit)
    }
    self.head = head
  }

  /// The key of (experiment, parameters, seed).
  public init(experiment: String, parameters: Parameters, seed: UInt64) {
    self.init(experiment: experiment, parametersJSON: CanonicalJSON.parameters(parameters), seed: seed)
  }

  /// The key of (experiment, parameters, seed), given `CanonicalJSON.parameters(parameters)`.
  public init(experiment: String, parametersJSON: String, seed: UInt64) {
    self.init(
      hex: SHA256.hex(Self.canonicalText(experiment: experiment, parametersJSON: parametersJSON, seed: seed)))
  }

  public static func == (a: RunKey, b: RunKey) -> Bool { a.head == b.head && a.hex == b.hex }
  public func hash(into hasher: inout Hasher) { hasher.combine(head) }

  /// The canonical JSON text that is hashed: `{"experiment":…,"parameters":{…},"seed":n}`.
  public static func canonicalText(experiment: String, parameters: Parameters, seed: UInt64) -> String {
    canonicalText(experiment: experiment, parametersJSON: CanonicalJSON.parameters(parameters), seed: seed)
  }

  private static func canonicalText(experiment: String, parametersJSON: String, seed: UInt64) -> String {
    // The object's keys in ascending byte order, as `CanonicalJSON.object` would put them.
    "{\"experiment\":" + CanonicalJSON.quote(experiment) + ",\"parameters\":" + parametersJSON + ",\"seed\":"
      + String(seed) + "}"
  }

  /// The first 12 hex digits, for logs and progress lines.
  public var short: String { String(hex.prefix(12)) }
  public var description: String { hex }
  public static func < (a: RunKey, b: RunKey) -> Bool { a.hex < b.hex }
}
