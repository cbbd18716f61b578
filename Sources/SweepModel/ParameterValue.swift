/// One hyper-parameter value as it appears in a sweep file and on the wire.
///
/// Values are plain JSON scalars so that a run's identity (its ``RunKey``) is the hash of a
/// canonical JSON text that any language can reproduce.
public enum ParameterValue: Sendable, Hashable, CustomStringConvertible {
  /// A whole number (`examples_per_task: 5000`).
  case int(Int)
  /// A real number (`step_size: 0.0005`).
  case double(Double)
  /// A word (`algorithm: crossprop`).
  case string(String)
  /// A switch (`replay: true`).
  case bool(Bool)

  /// The value as a `Double` when it is a number (an `int` widens exactly for |n| < 2^53).
  public var doubleValue: Double? {
    switch self {
    case .int(let n): Double(n)
    case .double(let x): x
    case .string, .bool: nil
    }
  }

  public var description: String { canonicalJSON }

  /// The value as canonical JSON: integers without a point, doubles in Swift's shortest
  /// round-tripping form, strings escaped per RFC 8259.
  public var canonicalJSON: String {
    switch self {
    case .int(let n): String(n)
    case .double(let x):
      // Shortest round-trip text; an integral double keeps its ".0" so it never collides with an int.
      x.isFinite ? "\(x)" : "null"
    case .string(let s): CanonicalJSON.quote(s)
    case .bool(let b): b ? "true" : "false"
    }
  }
}

/// Named parameter values of one run. Rendered with sorted keys, never in dictionary order.
public typealias Parameters = [String: ParameterValue]

/// Canonical JSON (sorted keys, no white space) used for run keys and the journal.
public enum CanonicalJSON {
  /// The object `{"k":v,...}` with keys in ascending byte order.
  public static func object(_ fields: [String: String]) -> String {
    object(fields.sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }, value: { $0 })
  }

  /// The parameters as a canonical JSON object.
  public static func parameters(_ parameters: Parameters) -> String {
    object(parameters.sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }, value: \.canonicalJSON)
  }

  /// `{"k":v,...}` of fields already in key order. Run keys hash one of these per run, so the text is
  /// appended in place rather than joined from pieces.
  private static func object<Value>(_ fields: [(key: String, value: Value)], value text: (Value) -> String)
    -> String
  {
    var out = "{"
    for (index, field) in fields.enumerated() {
      if index > 0 { out += "," }
      out += quote(field.key)
      out += ":"
      out += text(field.value)
    }
    out += "}"
    return out
  }

  /// A JSON string literal.
  public static func quote(_ s: String) -> String {
    // Most names and words need no escape.
    if s.utf8.allSatisfy({ $0 >= 0x20 && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "\\") }) {
      return "\"" + s + "\""
    }
    var out = "\""
    for scalar in s.unicodeScalars {
      switch scalar {
      case "\"": out += "\\\""
      case "\\": out += "\\\\"
      case "\n": out += "\\n"
      case "\r": out += "\\r"
      case "\t": out += "\\t"
      case _ where scalar.value < 0x20:
        let hex = String(scalar.value, radix: 16)
        out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
      default: out.unicodeScalars.append(scalar)
      }
    }
    return out + "\""
  }
}
