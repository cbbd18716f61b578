/// The identity of a run: SHA-256 of the canonical JSON of experiment, parameters and seed.
///
/// Two sweeps that contain the same (experiment, parameters, seed) share the run key, so widening
/// a grid reuses finished runs. The variant's display name is not part of the key.
public struct RunKey: Sendable, Hashable, Comparable, CustomStringConvertible {
  /// Lower-case hexadecimal SHA-256 digest (64 characters).
  public let hex: String

  public init(hex: String) { self.hex = hex }

  /// The key of (experiment, parameters, seed).
  public init(experiment: String, parameters: Parameters, seed: UInt64) {
    self.hex = SHA256.hex(Self.canonicalText(experiment: experiment, parameters: parameters, seed: seed))
  }

  /// The canonical JSON text that is hashed: `{"experiment":…,"parameters":{…},"seed":n}`.
  public static func canonicalText(experiment: String, parameters: Parameters, seed: UInt64) -> String {
    // The object's keys in ascending byte order, as `CanonicalJSON.object` would put them.
    "{\"experiment\":" + CanonicalJSON.quote(experiment) + ",\"parameters\":"
      + CanonicalJSON.parameters(parameters)
      + ",\"seed\":" + String(seed) + "}"
  }

  /// The first 12 hex digits, for logs and progress lines.
  public var short: String { String(hex.prefix(12)) }
  public var description: String { hex }
  public static func < (a: RunKey, b: RunKey) -> Bool { a.hex < b.hex }
}
