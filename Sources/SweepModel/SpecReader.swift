import Yams

/// Reads the nodes of one composed sweep file into typed values, recording where each field was set.
///
/// Every failure is a ``SpecError`` located at the node that caused it; nothing here traps on input.
/// Functions that read one value throw; functions that read a collection (a mapping's pairs,
/// parameters, variants, a list) report each wrong entry to ``problems``, leave it out and go on.
struct SpecReader {
  /// The file name used in messages.
  let file: String
  /// Where each field was set, keyed by dotted path; filled as fields are read.
  var locations: [String: SourceLocation] = [:]
  /// What was found wrong so far, in the order found.
  var problems: [SpecError] = []

  init(file: String) {
    self.file = file
  }

  // MARK: - Errors and locations

  /// Notes a problem and goes on reading.
  mutating func report(_ problem: SpecError) {
    problems.append(problem)
  }

  /// The error for `field`, located at `node` (or nowhere when the node carries no mark).
  func error(_ field: String, at node: Node?, _ message: String) -> SpecError {
    SpecError(file: file, location: node.flatMap(Self.location), field: field, message: message)
  }

  /// The 1-based line and column where `node` starts.
  static func location(of node: Node) -> SourceLocation? {
    node.mark.map { SourceLocation(line: $0.line, column: $0.column) }
  }

  /// Records that `path` was set at `node` (the key of a field, or an item of a list).
  mutating func record(_ path: String, at node: Node) {
    if let location = Self.location(of: node) { locations[path] = location }
  }

  // MARK: - Node shapes

  /// A short English name for the node's shape, for "got ..." in messages.
  static func describe(_ node: Node) -> String {
    switch node {
    case .mapping: return "a mapping"
    case .sequence: return "a list"
    case .alias: return "an alias"
    case .scalar(let scalar):
      if case .null = Self.classify(scalar) { return "nothing" }
      return "'\(Self.excerpt(scalar.string))'"
    }
  }

  /// `text` cut to a length that fits in a one-line message.
  static func excerpt(_ text: String) -> String {
    let flat = text.replacingNewlines()
    return flat.count <= 40 ? flat : String(flat.prefix(37)) + "..."
  }

  /// The key's text when it is a plain or quoted scalar.
  func keyText(_ key: Node, in field: String) throws(SpecError) -> String {
    guard case .scalar(let scalar) = key else {
      throw error(field, at: key, "keys must be plain words, got \(Self.describe(key))")
    }
    return scalar.string
  }

  /// The pairs of a mapping node, with YAML merge keys (`<<: *base`) folded in: keys written in the
  /// mapping win over merged ones, and an earlier merged mapping wins over a later one. A merged
  /// mapping's own merges are folded in first, so `<<: *b` where b holds `<<: *a` brings a's keys
  /// too. A merge of something other than mappings, or merges nested deeper than 32, are reported
  /// and left out.
  mutating func pairs(of mapping: Node.Mapping, field: String, depth: Int = 0) -> [(key: Node, value: Node)] {
    var own: [(key: Node, value: Node)] = []
    var merged: [(key: Node, value: Node)] = []
    for (key, value) in mapping {
      guard Self.isMergeKey(key) else {
        own.append((key, value))
        continue
      }
      let sources: [Node]
      switch value {
      case .mapping: sources = [value]
      case .sequence(let list): sources = Array(list)
      default:
        report(
          error(field, at: value, "'<<' merges a mapping: write '<<: *anchor', got \(Self.describe(value))"))
        continue
      }
      for source in sources {
        guard case .mapping(let sourceMapping) = source else {
          report(error(field, at: source, "'<<' merges mappings only, got \(Self.describe(source))"))
          continue
        }
        guard depth < 32 else {
          report(error(field, at: source, "'<<' merges are nested more than 32 deep"))
          continue
        }
        merged += pairs(of: sourceMapping, field: field, depth: depth + 1)
      }
    }
    guard !merged.isEmpty else { return own }
    var seen = Set(own.compactMap { $0.key.scalar?.string })
    var out = own
    for pair in merged {
      guard let name = pair.key.scalar?.string else {
        out.append(pair)
        continue
      }
      if seen.insert(name).inserted { out.append(pair) }
    }
    return out
  }

  private static func isMergeKey(_ node: Node) -> Bool {
    guard case .scalar(let scalar) = node else { return false }
    return scalar.string == "<<" && scalar.style != .singleQuoted && scalar.style != .doubleQuoted
  }

  // MARK: - Scalars

  /// What a scalar means, before any field-specific check.
  enum Meaning {
    case null
    case value(ParameterValue)
    /// A scalar that cannot be a value; the string says why and what to write instead.
    case invalid(String)
  }

  /// Types a scalar: quoted and block scalars are strings; plain ones are `true`/`false`, decimal
  /// integers, decimal or exponent floats, nulls (`~`, `null`, nothing) or else strings. Explicit tags
  /// `!!str`, `!!int`, `!!float`, `!!bool` are honoured. YAML 1.1 spellings (`yes`, `0x1F`, `1_000`)
  /// are plain words, so a file means the same whatever YAML library reads it.
  static func classify(_ scalar: Node.Scalar) -> Meaning {
    let text = scalar.string
    switch scalar.tag.description {
    case "":
      guard scalar.style == .plain || scalar.style == .any else { return .value(.string(text)) }
      return classifyPlain(text)
    case "!", Tag.Name.str.rawValue:
      return .value(.string(text))
    case Tag.Name.int.rawValue:
      if case .value(.int(let n)) = classifyPlain(text) { return .value(.int(n)) }
      return .invalid("!!int needs a whole number like 5000, got '\(excerpt(text))'")
    case Tag.Name.float.rawValue:
      switch classifyPlain(text) {
      case .value(.int(let n)): return .value(.double(Double(n)))
      case .value(.double(let x)): return .value(.double(x))
      case .invalid(let why): return .invalid(why)
      default: return .invalid("!!float needs a number like 0.0005, got '\(excerpt(text))'")
      }
    case Tag.Name.bool.rawValue:
      if case .value(.bool(let b)) = classifyPlain(text) { return .value(.bool(b)) }
      return .invalid("!!bool needs true or false, got '\(excerpt(text))'")
    case Tag.Name.null.rawValue:
      return .null
    case let other:
      return .invalid(
        "unsupported tag '\(excerpt(other))'; drop the tag or use !!str, !!int, !!float or !!bool")
    }
  }

  private static func classifyPlain(_ text: String) -> Meaning {
    switch text {
    case "", "~", "null", "Null", "NULL": return .null
    case "true", "True", "TRUE": return .value(.bool(true))
    case "false", "False", "FALSE": return .value(.bool(false))
    case ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", "-.inf", "-.Inf", "-.INF", ".nan", ".NaN", ".NAN":
      return .invalid("must be a finite number, got '\(text)'")
    default: break
    }
    switch NumberShape(text) {
    case .integer:
      guard let n = Int(text) else {
        return .invalid("integer '\(excerpt(text))' is out of range (at most \(Int.max))")
      }
      return .value(.int(n))
    case .real:
      guard let x = Double(text) else { return .invalid("cannot read '\(excerpt(text))' as a number") }
      guard x.isFinite else { return .invalid("number '\(excerpt(text))' is out of range for a double") }
      return .value(.double(x))
    case .notANumber:
      return .value(.string(text))
    }
  }

  /// The value of a scalar parameter; nulls, lists, mappings and non-finite numbers are errors.
  func parameterValue(_ node: Node, field: String) throws(SpecError) -> ParameterValue {
    guard case .scalar(let scalar) = node else {
      throw error(
        field, at: node,
        "must be a single value (a number, true/false or a word), got \(Self.describe(node)); "
          + "list the values under 'grid:' (grid: {\(field.split(separator: ".").last ?? ""): [0, 0.5]}) or give each its own variant"
      )
    }
    switch Self.classify(scalar) {
    case .value(let value): return value
    case .invalid(let why): throw error(field, at: node, why)
    case .null:
      throw error(
        field, at: node, "has no value; write a number, true/false or a word, or remove the line")
    }
  }

  /// A string scalar; numbers and booleans must be quoted to count as strings.
  func string(_ node: Node, field: String, example: String) throws(SpecError) -> String {
    if case .scalar(let scalar) = node, case .value(.string(let text)) = Self.classify(scalar) {
      return text
    }
    if case .scalar(let scalar) = node, case .value = Self.classify(scalar) {
      throw error(
        field, at: node,
        "must be a word like \(example), got \(Self.describe(node)) (quote it to keep it as text)")
    }
    throw error(field, at: node, "must be a word like \(example), got \(Self.describe(node))")
  }

  /// A list of distinct, non-empty strings; nothing (`metrics:`) is an empty list. Each item's place
  /// is recorded as `field.item` (`metrics.error_task1`); a wrong item is reported and left out.
  mutating func stringList(_ node: Node, field: String, example: String) -> [String] {
    let items: [Node]
    switch node {
    case .sequence(let list): items = Array(list)
    case .scalar(let scalar):
      if case .null = Self.classify(scalar) { return [] }
      report(error(field, at: node, "must be a list like [\(example)], got \(Self.describe(node))"))
      return []
    default:
      report(error(field, at: node, "must be a list like [\(example)], got \(Self.describe(node))"))
      return []
    }
    var out: [String] = []
    for item in items {
      do throws(SpecError) {
        let text = try string(item, field: field, example: example)
        guard !text.isEmpty else { throw error(field, at: item, "names must not be empty") }
        guard !out.contains(text) else {
          throw error(field, at: item, "'\(Self.excerpt(text))' is listed twice")
        }
        out.append(text)
        record("\(field).\(text)", at: item)
      } catch {
        report(error)
      }
    }
    return out
  }
}

/// The lexical shape of a plain scalar, per the YAML 1.2 core schema (decimal only).
enum NumberShape {
  /// `[-+]?[0-9]+`
  case integer
  /// `[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?`, not an integer.
  case real
  case notANumber

  init(_ text: String) {
    var bytes = text.utf8[...]
    if let first = bytes.first, first == UInt8(ascii: "-") || first == UInt8(ascii: "+") {
      bytes = bytes.dropFirst()
    }
    func digits(_ bytes: inout Substring.UTF8View) -> Int {
      var count = 0
      while let b = bytes.first, b >= UInt8(ascii: "0"), b <= UInt8(ascii: "9") {
        bytes = bytes.dropFirst()
        count += 1
      }
      return count
    }
    let whole = digits(&bytes)
    if bytes.isEmpty {
      self = whole > 0 ? .integer : .notANumber
      return
    }
    var fraction = 0
    var hasPoint = false
    if bytes.first == UInt8(ascii: ".") {
      hasPoint = true
      bytes = bytes.dropFirst()
      fraction = digits(&bytes)
    }
    guard whole > 0 || (hasPoint && fraction > 0) else {
      self = .notANumber
      return
    }
    if let e = bytes.first, e == UInt8(ascii: "e") || e == UInt8(ascii: "E") {
      bytes = bytes.dropFirst()
      if let sign = bytes.first, sign == UInt8(ascii: "-") || sign == UInt8(ascii: "+") {
        bytes = bytes.dropFirst()
      }
      guard digits(&bytes) > 0 else {
        self = .notANumber
        return
      }
    }
    self = bytes.isEmpty ? .real : .notANumber
  }
}

extension String {
  /// The text on one line, with line breaks shown as `\n`.
  func replacingNewlines() -> String {
    var out = ""
    for character in self {
      if character.isNewline { out += "\\n" } else { out.append(character) }
    }
    return out
  }
}
