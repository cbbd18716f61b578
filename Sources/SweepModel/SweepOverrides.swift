import Yams

/// Command-line overrides of a sweep file: `metasweep run sweep.yaml --set fixed.step_size=0.001
/// --set seeds=0..<5`.
///
/// An override is `path=value`. The path names a field by its keys, joined by dots (`seeds`,
/// `fixed.step_size`, `variants.adam.step_size`, `grid.eta`, `stages.pretrain.seeds`); a key that
/// itself holds dots, like the variant `crossprop-eta0.5`, is found whole. The value is YAML, as the
/// file would write it (`0.001`, `0..<5`, `[0, 0.5]`, `'a word'`). Missing mappings along the path
/// are created, so `--set fixed.eta=0.5` works in a file without `fixed:`.
///
/// The overrides are recorded in the sweep file the journal stores, as a last top-level key
/// `overrides:` (a list of the `path=value` texts), and applied by every reader of that text. So
/// `resume`, `report` and `audit` see the sweep that ran, MANIFEST.json lists them, and the file
/// on disk is never touched. Every value is then checked exactly like one written in the file; a
/// problem in it names the override (`--set fixed.step_size=abc: ...`) instead of a line.
public enum SweepOverrides {
  /// The top-level key that records overrides in a sweep file.
  public static let key = "overrides"

  /// `text` (a sweep file's) with `overrides` recorded at its end; `text` itself when there are none.
  ///
  /// - Throws: ``SpecProblems`` when an override is not `path=value` on one line, or the file
  ///   already records overrides, or its top level is not a block mapping a key can be added to.
  public static func record(_ overrides: [String], in text: String, file: String) throws(SpecProblems)
    -> String
  {
    guard !overrides.isEmpty else { return text }
    func problem(_ field: String, _ message: String, in place: String? = nil) -> SpecProblems {
      SpecProblems([SpecError(file: place ?? file, location: nil, field: field, message: message)])
    }
    for override in overrides {
      let place = "--set \(SpecReader.excerpt(override))"
      guard !override.contains(where: \.isNewline) else { throw problem("", "must be one line", in: place) }
      guard let equals = override.firstIndex(of: "="), equals != override.startIndex else {
        throw problem("", "must be path=value, like fixed.step_size=0.001 or 'seeds=0..<5'", in: place)
      }
    }
    if case .success(.mapping(let top)?) = SweepSpec.compose(yaml: text, file: file),
      top.keys.contains(where: { $0.scalar?.string == key })
    {
      throw problem(
        key, "the file records overrides already; edit its 'overrides:' list instead of passing --set")
    }
    var out = text
    if !out.isEmpty && !out.hasSuffix("\n") { out += "\n" }
    out += "\n# Recorded by metasweep --set; applied over everything above.\n\(key):\n"
    for override in overrides {
      out += "  - '\(override.replacingOccurrences(of: "'", with: "''"))'\n"
    }
    guard case .success(.mapping(let top)?) = SweepSpec.compose(yaml: out, file: file),
      top.keys.contains(where: { $0.scalar?.string == key })
    else {
      throw problem(
        "",
        "cannot record overrides in this file (its top level is not a block mapping); write it with "
          + "one 'key: value' per line, or edit the file instead of passing --set")
    }
    return out
  }

  /// One override as applied.
  struct Applied {
    /// The text as given: `fixed.step_size=0.001`.
    var text: String
    /// The keys of the field it set, as found in the file (`["variants", "crossprop-eta0.5", "eta"]`).
    var path: [String]
  }

  /// `root` with its top-level `overrides:` applied (and left in place for readers to record), the
  /// overrides applied, and what is wrong with any that could not be.
  static func apply(to root: Node, file: String) -> (root: Node, applied: [Applied], problems: [SpecError]) {
    guard case .mapping(let top) = root,
      let list = top.first(where: { $0.key.scalar?.string == key })?.value
    else { return (root, [], []) }
    func problem(_ message: String, at node: Node? = nil) -> SpecError {
      SpecError(file: file, location: node.flatMap(SpecReader.location), field: key, message: message)
    }
    guard case .sequence(let items) = list else {
      return (root, [], [problem("must be a list of 'path=value' texts", at: list)])
    }
    var node = root
    var applied: [Applied] = []
    var problems: [SpecError] = []
    for item in items {
      guard case .scalar(let scalar) = item, let equals = scalar.string.firstIndex(of: "=") else {
        problems.append(problem("each override must be a 'path=value' text", at: item))
        continue
      }
      let text = scalar.string
      let wanted = text[..<equals].split(separator: ".", omittingEmptySubsequences: false).map(String.init)
      let valueText = String(text[text.index(after: equals)...])
      func refusal(_ message: String) -> SpecError {
        SpecError(file: "--set \(text)", location: nil, field: "", message: message)
      }
      guard !wanted.contains(where: \.isEmpty), !wanted.isEmpty else {
        problems.append(refusal("the path must be keys joined by dots, like fixed.step_size"))
        continue
      }
      guard wanted.first != key else {
        problems.append(refusal("overrides cannot set '\(key)' itself"))
        continue
      }
      let value: Node
      switch SweepSpec.compose(yaml: valueText, file: "--set \(text)") {
      case .success(let composed?): value = withoutMarks(composed)
      case .success(nil): value = Node.scalar(Node.Scalar(""))
      case .failure(let error):
        problems.append(refusal("the value is not YAML: \(error.message)"))
        continue
      }
      do throws(SpecError) {
        var found: [String] = []
        node = try setting(value, at: wanted[...], in: node, found: &found, refusal: refusal)
        applied.append(Applied(text: text, path: found))
      } catch {
        problems.append(error)
      }
    }
    return (node, applied, problems)
  }

  /// `node` with `value` set at `path`: the longest run of path components that is a key of the
  /// mapping is taken as one key, so keys holding dots are found whole; a missing key is created.
  private static func setting(
    _ value: Node, at path: ArraySlice<String>, in node: Node, found: inout [String],
    refusal: (String) -> SpecError
  ) throws(SpecError) -> Node {
    guard let first = path.first else { return value }
    let mapping: Node.Mapping
    switch node {
    case .mapping(let m): mapping = m
    case .scalar(let s) where s.string.isEmpty && s.tag.description.isEmpty:
      mapping = Node.Mapping([])  // `fixed:` with nothing after it
    default:
      throw refusal(
        "'\(found.joined(separator: "."))' is \(SpecReader.describe(node)), not a mapping, so it has no "
          + "field '\(path.joined(separator: "."))'")
    }
    var pairs: [(Node, Node)] = mapping.map { ($0.key, $0.value) }
    for length in stride(from: path.count, through: 1, by: -1) {
      let name = path.prefix(length).joined(separator: ".")
      guard let index = pairs.lastIndex(where: { $0.0.scalar?.string == name }) else { continue }
      found.append(name)
      let inner = try setting(
        value, at: path.dropFirst(length), in: pairs[index].1, found: &found, refusal: refusal)
      pairs[index] = (pairs[index].0, inner)
      return .mapping(Node.Mapping(pairs, mapping.tag, mapping.style, mapping.mark))
    }
    // Nothing matched: create the key (the first component: keys written with dots must exist).
    found.append(first)
    let inner = try setting(
      value, at: path.dropFirst(), in: .mapping(Node.Mapping([])), found: &found, refusal: refusal)
    pairs.append((Node.scalar(Node.Scalar(first)), inner))
    return .mapping(Node.Mapping(pairs, mapping.tag, mapping.style, mapping.mark))
  }

  /// A copy of `node` with no marks: a value from the command line has no line in the file.
  private static func withoutMarks(_ node: Node) -> Node {
    switch node {
    case .scalar(let s): return .scalar(Node.Scalar(s.string, s.tag, s.style))
    case .sequence(let s): return .sequence(Node.Sequence(s.map(withoutMarks), s.tag, s.style))
    case .mapping(let m):
      return .mapping(Node.Mapping(m.map { (withoutMarks($0.key), withoutMarks($0.value)) }, m.tag, m.style))
    case .alias: return node
    }
  }

  /// The fields the overrides under `prefix` set (the path of a spec within the file:
  /// `["stages", "pretrain"]` for a graph's stage, `[]` for a sweep), as dotted paths within that
  /// spec, each with the text of the last override that set it.
  static func fields(_ applied: [Applied], under prefix: [String]) -> [String: String] {
    var fields: [String: String] = [:]
    for override in applied where override.path.starts(with: prefix) && override.path.count > prefix.count {
      fields[override.path.dropFirst(prefix.count).joined(separator: ".")] = override.text
    }
    return fields
  }

  /// The text of the override that set `field` (a dotted path), or the mapping holding it nearest to
  /// it, among `fields` (``fields(_:under:)``); nil when the file set it.
  static func setter(of field: String, in fields: [String: String]) -> String? {
    fields.filter { field == $0.key || field.hasPrefix($0.key + ".") }.max { $0.key.count < $1.key.count }?
      .value
  }

  /// `problems` with each one about a field an override set (or a field inside it) naming the
  /// override instead of a place in the file.
  static func attributing(_ problems: [SpecError], to fields: [String: String]) -> [SpecError] {
    guard !fields.isEmpty else { return problems }
    return problems.map { problem in
      var problem = problem
      if let text = setter(of: problem.field, in: fields) {
        problem.file = "--set \(text)"
        problem.location = nil
      }
      return problem
    }
  }
}
