import Foundation
import Yams

/// Reading a sweep file.
///
/// ```yaml
/// name: crossprop-geoff          # [A-Za-z0-9._-]+, not starting with '.'; names the results folder
/// experiment: geoff              # the experiment family
/// seeds: 0..<30                  # 0..<30, 5...9, [0, 3, 7], or 30 (meaning 0..<30)
///                                # (at most 100,000 seeds and 1,000,000 runs: variants × seeds)
/// fixed:                         # optional: parameters shared by every variant
///   examples_per_task: 5000
/// variants:                      # named variants, in the order runs and tables use
///   backprop: {algorithm: backprop}
///   crossprop-eta0.5: {algorithm: crossprop, eta: 0.5}
///   defaults: {}                 # a variant that only uses `fixed`
/// grid:                          # and/or: every combination of these lists (see below)
///   step_size: [0.001, 0.01]
/// metrics: [error_task1]         # optional
/// curves: [error]                # optional
/// segment_steps: 1000            # optional: chained runs of this many steps per lease
/// baseline: backprop             # optional: the report compares every variant with it, by seed
/// intervals: true                # optional: the summary shows 95% confidence intervals
/// description: free text, ignored
/// ```
///
/// Parameter names are `[a-z0-9_]+`. Plain values are typed by the YAML 1.2 core schema: `5000` and
/// `-3` are integers, `0.0005`, `5e-4` and `1.0` doubles, `true`/`false` Booleans, anything else a
/// string; quoted values are always strings. Nulls, lists, mappings and non-finite numbers are
/// rejected. Anchors, aliases and merge keys (`<<: *base`) may be used to share parameters.
///
/// A sweep needs `variants`, `grid` or both. `grid` maps parameters to lists of values; its
/// variants are every combination, the first parameter varying slowest, named by their values
/// (`algorithm=crossprop eta=0.5`). With named variants too, each named variant is combined with
/// each point of the grid (`backprop step_size=0.01`); a parameter may not be in both.
/// `overrides` records command-line `--set`s (see ``SweepOverrides``).
extension SweepSpec {
  /// The keys a sweep file may have at its top level, in the order messages list them.
  public static let topLevelKeys = [
    "name", "experiment", "seeds", "fixed", "variants", "grid", "metrics", "curves", "segment_steps",
    "baseline",
    "intervals", "description", SweepOverrides.key,
  ]

  /// The keys a stage of a sweep graph may have (besides `inputs` and `held_out`, which the
  /// graph reads).
  public static let stageKeys = [
    "experiment", "seeds", "fixed", "variants", "grid", "inputs", "held_out", "metrics", "curves",
    "segment_steps", "baseline", "intervals", "description",
  ]

  /// The most seeds one sweep may list; a guard against typos like `0..<3000000000`.
  public static let maximumSeedCount = 100_000

  /// The most runs (variants × seeds) one sweep may have, checked before anything is expanded.
  ///
  /// What a sweep this size costs before its first run (10 noop variants × 100,000 seeds, release
  /// build, the 2-core development VM): 12 s and 750 MB peak RSS to validate, expand and journal
  /// it, 13 s and 1.1 GB once the coordinator serves, and a 460 MB journal; 6 s to prepare it
  /// again on resuming. Past the limit, time and memory grow in proportion with nothing printed
  /// meanwhile (issue 11 saw 40 s of silence and 4 GB for 10 M runs), so a bigger grid is better
  /// split into several sweeps, each with its own name and results folder.
  public static let maximumRunCount = 1_000_000

  /// Reads the sweep file at `path`.
  ///
  /// - Throws: ``SpecProblems``: one when the file is missing, unreadable or not UTF-8 (see
  ///   ``readText(path:)``), else every problem of the sweep (see ``read(yaml:file:)``).
  public static func load(path: String) throws(SpecProblems) -> SweepSpec {
    let text: String
    do {
      text = try readText(path: path)
    } catch {
      throw SpecProblems(error)
    }
    return try parse(yaml: text, file: path)
  }

  /// The text of the sweep file at `path`: the one place a sweep file's bytes become text.
  ///
  /// - Throws: ``SpecError`` saying whether the path is missing, a directory or unreadable, or
  ///   locating the first byte that is not UTF-8 (text is never repaired: a replaced byte would
  ///   silently change a parameter's name or value).
  public static func readText(path: String) throws(SpecError) -> String {
    func refusal(_ message: String, at location: SourceLocation? = nil) -> SpecError {
      SpecError(file: path, location: location, field: "", message: message)
    }
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
      throw refusal("no such file; check the path to the sweep file")
    }
    guard !isDirectory.boolValue else {
      throw refusal("is a directory, not a sweep file; pass the sweep file inside it")
    }
    let bytes: [UInt8]
    switch contents(ofFileAt: path) {
    case .success(let read): bytes = read
    case .failure(let failure):
      let hint = failure.code == EACCES || failure.code == EPERM ? "; check its permissions" : ""
      throw refusal("cannot read the file (\(failure))\(hint)")
    }
    if let (location, byte) = firstInvalidUTF8(in: bytes) {
      throw refusal(
        "the file is not UTF-8 text (byte \(String(format: "0x%02X", byte)) here); save it as UTF-8",
        at: location)
    }
    return String(decoding: bytes, as: UTF8.self)
  }

  /// The bytes of the file at `path`, or why they cannot be read (the system's words, like
  /// "Permission denied").
  private static func contents(ofFileAt path: String) -> Result<[UInt8], ReadFailure> {
    guard let stream = fopen(path, "rb") else { return .failure(ReadFailure(errno)) }
    defer { fclose(stream) }
    var out: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 1 << 16)
    while true {
      let count = chunk.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, stream) }
      out.append(contentsOf: chunk[..<count])
      if count < chunk.count {
        return ferror(stream) != 0 ? .failure(ReadFailure(errno)) : .success(out)
      }
    }
  }

  /// An `errno` from reading a file, described in the system's words.
  private struct ReadFailure: Error, CustomStringConvertible {
    var code: Int32
    init(_ code: Int32) { self.code = code }
    var description: String { String(cString: strerror(code)) }
  }

  /// The place and value of the first byte of `bytes` that does not belong to well-formed UTF-8
  /// (the first byte of an ill-formed sequence), or nil when all of it is UTF-8.
  ///
  /// Lines are 1-based and end at LF, CR LF or CR. Columns are 1-based and count the Unicode scalars
  /// (code points) before the byte on its line: the unit libyaml's marks use, so the column means
  /// the same in this message as in a YAML syntax error.
  static func firstInvalidUTF8(in bytes: [UInt8]) -> (SourceLocation, UInt8)? {
    var parser = Unicode.UTF8.ForwardParser()
    var iterator = bytes.makeIterator()
    var offset = 0
    var line = 1
    var column = 1
    var afterCarriageReturn = false
    while true {
      switch parser.parseScalar(from: &iterator) {
      case .valid(let scalar):
        offset += scalar.count
        let byte = scalar.count == 1 ? scalar.first : nil
        if byte == UInt8(ascii: "\n") && afterCarriageReturn {
          // The LF of a CR LF pair: the CR already started the line.
        } else if byte == UInt8(ascii: "\n") || byte == UInt8(ascii: "\r") {
          line += 1
          column = 1
        } else {
          column += 1
        }
        afterCarriageReturn = byte == UInt8(ascii: "\r")
      case .emptyInput:
        return nil
      case .error:
        return (SourceLocation(line: line, column: column), bytes[offset])
      }
    }
  }

  /// A sweep file read as far as its mistakes allow: what ``SweepSpec/read(yaml:file:)`` returns,
  /// so that checks against the experiment family can add their problems to the file's.
  public struct Reading: Sendable {
    /// The spec without the values that were wrong (a wrong or missing name or seeds is left
    /// empty), or nil when the file is not YAML, not a mapping, or has no usable `experiment` or
    /// `variants`, so nothing more can be checked.
    public var spec: SweepSpec?
    /// What is wrong, in the order it was found; empty when the file is a valid sweep.
    public var problems: [SpecError]
    /// Variants that lack a parameter the file set wrongly (all of them when `fixed` has one):
    /// checks that need every parameter of a run skip them rather than report a mistake twice.
    public var incompleteVariants: Set<String>
    /// Whether a variant was left out of ``spec`` altogether (its name was wrong), so checks over
    /// all runs of the sweep ("no run reports this metric") cannot be made.
    public var isMissingVariants: Bool

    public init(
      spec: SweepSpec?, problems: [SpecError] = [], incompleteVariants: Set<String> = [],
      isMissingVariants: Bool = false
    ) {
      self.spec = spec
      self.problems = problems
      self.incompleteVariants = incompleteVariants
      self.isMissingVariants = isMissingVariants
    }
  }

  /// Parses the text of a sweep file; `file` names it in locations and messages.
  ///
  /// - Throws: ``SpecProblems`` listing every problem (see ``read(yaml:file:)``).
  public static func parse(yaml: String, file: String) throws(SpecProblems) -> SweepSpec {
    let reading = read(yaml: yaml, file: file)
    guard reading.problems.isEmpty, let spec = reading.spec else { throw SpecProblems(reading.problems) }
    return spec
  }

  /// Reads the text of a sweep file, collecting every problem rather than stopping at the first: a
  /// wrong field, variant, parameter or list item is reported and left out, and reading goes on. A
  /// YAML syntax error ends reading, since nothing after it can be trusted.
  public static func read(yaml: String, file: String) -> Reading {
    var root: Node
    switch compose(yaml: yaml, file: file) {
    case .success(let node?): root = node
    case .success(nil):
      return Reading(
        spec: nil,
        problems: [
          SpecError(
            file: file, location: nil, field: "",
            message: "the file is empty; write at least name, experiment, seeds and variants, e.g. "
              + "'name: demo', 'experiment: geoff', 'seeds: 0..<10', 'variants: {baseline: {}}'")
        ])
    case .failure(let error): return Reading(spec: nil, problems: [error])
    }
    guard case .mapping = root else {
      return Reading(
        spec: nil,
        problems: [
          SpecError(
            file: file, location: SpecReader.location(of: root), field: "",
            message: "the file must be a mapping of keys (name:, experiment:, seeds:, variants:), got "
              + SpecReader.describe(root))
        ])
    }

    let (overridden, applied, overrideProblems) = SweepOverrides.apply(to: root, file: file)
    root = overridden
    guard case .mapping(let top) = root else { return Reading(spec: nil, problems: overrideProblems) }
    var reading = readBody(top: top, root: root, file: file, stage: nil)
    let fields = SweepOverrides.fields(applied, under: [])
    reading.problems = overrideProblems + SweepOverrides.attributing(reading.problems, to: fields)
    reading.spec?.overrides = applied.map(\.text)
    reading.spec?.overriddenFields = fields
    return reading
  }

  /// Reads the fields of a sweep, or of one stage of a sweep graph (`stage` names it: it then has
  /// no `name`, its seeds may come from its inputs, and without variants it has one named after it).
  static func readBody(top: Node.Mapping, root: Node, file: String, stage: String?) -> Reading {
    let allowed = stage == nil ? topLevelKeys : stageKeys
    var reader = SpecReader(file: file)
    var name: String?
    var experiment: String?
    var seeds: [UInt64]?
    var fixed = Parameters()
    var isFixedComplete = true
    var variants: SpecReader.Variants?
    var grid: [SpecReader.GridAxis]?
    var metrics: [String] = []
    var curves: [String] = []
    var segmentSteps: Int?
    var baseline: (name: String, node: Node)?
    var intervals = false
    // Keys the file has, right or wrong: a wrong one is reported as wrong, not also as missing.
    var written: Set<String> = []

    for (keyNode, value) in reader.pairs(of: top, field: "") {
      do throws(SpecError) {
        let key = try reader.keyText(keyNode, in: "")
        guard allowed.contains(key) else {
          var message =
            "unknown key '\(SpecReader.excerpt(key))' (expected one of \(allowed.joined(separator: ", ")))"
          if let guess = closestKey(to: key) {
            message += "; did you mean '\(guess)'?"
            // Saying so is enough: 'seed: 3' should not also report seeds as missing.
            written.insert(guess)
          }
          throw reader.error("", at: keyNode, message)
        }
        written.insert(key)
        reader.record(key, at: keyNode)
        switch key {
        case "name": name = try reader.sweepName(value)
        case "experiment":
          let text = try reader.string(value, field: key, example: "geoff")
          guard !text.isEmpty else {
            throw reader.error(key, at: value, "must name an experiment family, like geoff")
          }
          experiment = text
        case "seeds": seeds = try reader.seeds(value)
        case "fixed": (fixed, isFixedComplete) = reader.parameters(value, path: key, what: "fixed")
        case "variants": variants = reader.variants(value)
        case "grid": grid = reader.grid(value)
        case "metrics":
          metrics = reader.stringList(value, field: key, example: "error_task1, u_drift_task1")
        case "curves": curves = reader.stringList(value, field: key, example: "error")
        case "segment_steps":
          guard case .scalar(let scalar) = value, case .value(.int(let n)) = SpecReader.classify(scalar),
            n > 0
          else {
            throw reader.error(
              key, at: value,
              "must be a positive whole number of steps per segment, like 1000, got \(SpecReader.describe(value))"
            )
          }
          segmentSteps = n
        case "baseline":
          baseline = (try reader.string(value, field: key, example: "backprop"), value)
        case "intervals":
          guard case .scalar(let scalar) = value, case .value(.bool(let flag)) = SpecReader.classify(scalar)
          else {
            throw reader.error(key, at: value, "must be true or false, got \(SpecReader.describe(value))")
          }
          intervals = flag
        case "inputs", "held_out", SweepOverrides.key:
          break  // a stage's links to other stages: the graph reads them; overrides are applied already
        default:
          // `description` is free text for people; only its shape is checked, to catch mis-indented keys.
          guard case .scalar = value else {
            throw reader.error(
              key, at: value,
              "must be text, got \(SpecReader.describe(value)); for several lines write 'description: |' "
                + "and indent the lines below it (check that no other key is indented under it)")
          }
        }
      } catch {
        reader.report(error)
      }
    }

    var required =
      stage == nil
      ? [("name", "name: crossprop-geoff"), ("experiment", "experiment: geoff"), ("seeds", "seeds: 0..<30")]
      : [("experiment", "experiment: image-pretrain")]
    if stage == nil && !written.contains("grid") {
      required.append(("variants", "variants: {baseline: {}}' or 'grid: {step_size: [0.001, 0.01]}"))
    }
    for (key, example) in required where !written.contains(key) {
      reader.report(reader.error(key, at: root, "missing; add a line like '\(example)'"))
    }
    // Without `variants:`, a grid's points are the variants (combined with one unnamed variant),
    // and a graph's stage is one variant named after it.
    if variants == nil, !written.contains("variants"), let name = written.contains("grid") ? "" : stage {
      variants = SpecReader.Variants(
        read: [Variant(name: name, parameters: [:])], incomplete: [], isMissingSome: false)
    }
    var aliases: [String: String] = [:]
    if written.contains("grid") {
      // A grid that could not be read leaves no variants: its problem is reported already.
      variants = grid.flatMap { grid in variants.flatMap { reader.combine($0, with: grid, aliases: &aliases) }
      }
    }
    guard let experiment, let variants else { return Reading(spec: nil, problems: reader.problems) }
    var spec = SweepSpec(
      name: stage ?? name ?? "", experiment: experiment, seeds: seeds ?? [], fixed: fixed,
      variants: variants.read,
      metrics: metrics, curves: curves, segmentSteps: segmentSteps, locations: reader.locations, file: file)
    spec.fieldAliases = aliases
    spec.intervals = intervals
    if let (name, node) = baseline {
      if spec.variants.contains(where: { $0.name == name }) || variants.isMissingSome {
        spec.baseline = name
      } else {
        reader.report(
          reader.error("baseline", at: node, SweepSpec.notAVariant(name, variants: spec.variants.map(\.name)))
        )
      }
    }
    if let problem = spec.runCountProblem() { reader.report(problem) }
    return Reading(
      spec: spec, problems: reader.problems,
      incompleteVariants: isFixedComplete ? variants.incomplete : Set(variants.read.map(\.name)),
      isMissingVariants: variants.isMissingSome)
  }

  /// The problem with a sweep of more than ``maximumRunCount`` runs, or nil: counted from the
  /// numbers of variants and seeds, without expanding.
  func runCountProblem() -> SpecError? {
    // Seeds are at most `maximumSeedCount`, so the product fits in an Int.
    let count = variants.count * seeds.count
    guard count > Self.maximumRunCount else { return nil }
    let seedsPerSweep = Self.maximumRunCount / max(variants.count, 1)
    let example =
      seedsPerSweep > 0
      ? "e.g. \(seedsPerSweep) seeds in each file"
      : "e.g. at most \(Self.maximumRunCount) variants in each file"
    return error(
      at: "seeds",
      "\(variants.count) variants × \(seeds.count) seeds make \(count) runs, "
        + "more than the \(Self.maximumRunCount) one sweep may have; split it into sweeps of at most "
        + "\(Self.maximumRunCount) runs (\(example), each with its own name)")
  }

  /// The YAML tree of `yaml`, or its syntax error as a ``SpecError``.
  static func compose(yaml: String, file: String) -> Result<Node?, SpecError> {
    do {
      // UTF-8 explicitly: Yams' default encoding consults the environment.
      return .success(try Yams.compose(yaml: yaml, .default, .default, .utf8))
    } catch let error as YamlError {
      return .failure(specError(from: error, yaml: yaml, file: file))
    } catch {
      return .failure(
        SpecError(file: file, location: nil, field: "", message: "cannot read the file as YAML: \(error)"))
    }
  }

  /// Translates Yams' error into one line naming the place, with a hint where one helps.
  private static func specError(from error: YamlError, yaml: String, file: String) -> SpecError {
    func at(_ mark: Mark, _ message: String) -> SpecError {
      SpecError(
        file: file, location: SourceLocation(line: mark.line, column: mark.column), field: "",
        message: message)
    }
    func explain(_ problem: String, _ context: YamlError.Context?) -> String {
      var text = "invalid YAML: \(problem)"
      if let context { text += " (\(context.text) at line \(context.mark.line))" }
      if problem.contains("mapping values are not allowed") {
        text += "; check the indentation, and quote values that contain ': '"
      } else if problem.contains("tab") {
        text += "; indent with spaces, not tabs"
      } else if problem.contains("undefined alias") {
        text += "; define the anchor (&name) before using it (*name)"
      } else if problem.contains("another document") {
        text += "; a sweep file holds one document, so remove the '---' or '...' line"
      } else {
        text += "; check the indentation, brackets and quotes around here"
      }
      return text
    }
    switch error {
    case .scanner(let context, let problem, let mark, _),
      .parser(let context, let problem, let mark, _),
      .composer(let context, let problem, let mark, _):
      return at(mark, explain(problem, context))
    case .duplicatedKeysInMapping(let duplicates, let context):
      let names = duplicates.map { "'\(SpecReader.excerpt($0))'" }.joined(separator: ", ")
      return at(context.mark, "duplicate key \(names); each key may appear once in a mapping")
    case .reader(let problem, let offset, _, _):
      let location = offset.map { lineAndColumn(ofCharacterOffset: $0, in: yaml) }
      return SpecError(
        file: file, location: location, field: "",
        message: "invalid text: \(problem); remove control characters and save the file as UTF-8")
    default:
      return SpecError(
        file: file, location: nil, field: "", message: "cannot read the file as YAML: \(error)")
    }
  }

  /// The 1-based line and column of the `offset`-th character of `text`.
  private static func lineAndColumn(ofCharacterOffset offset: Int, in text: String) -> SourceLocation {
    var line = 1
    var column = 1
    for character in text.prefix(max(offset, 0)) {
      if character.isNewline {
        line += 1
        column = 1
      } else {
        column += 1
      }
    }
    return SourceLocation(line: line, column: column)
  }

  /// The top-level key one or two edits away from `key`, for "did you mean".
  private static func closestKey(to key: String) -> String? {
    let lowered = key.lowercased()
    return topLevelKeys.first { editDistance(Array(lowered), Array($0), limit: 2) <= 2 }
  }

  /// Levenshtein distance, giving up (returning `limit + 1`) once the lengths differ by more than `limit`.
  private static func editDistance(_ a: [Character], _ b: [Character], limit: Int) -> Int {
    guard abs(a.count - b.count) <= limit else { return limit + 1 }
    guard !a.isEmpty, !b.isEmpty else { return max(a.count, b.count) }
    var previous = Array(0...b.count)
    for i in 1...a.count {
      var current = [i] + Array(repeating: 0, count: b.count)
      for j in 1...b.count {
        let substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)
        current[j] = min(previous[j] + 1, current[j - 1] + 1, substitution)
      }
      previous = current
    }
    return previous[b.count]
  }
}

// MARK: - Fields

extension SpecReader {
  /// The sweep's name, which becomes a folder name: `[A-Za-z0-9._-]+`, not starting with '.'.
  func sweepName(_ node: Node) throws(SpecError) -> String {
    let text = try string(node, field: "name", example: "crossprop-geoff")
    guard !text.isEmpty else {
      throw error("name", at: node, "must not be empty; write a name like crossprop-geoff")
    }
    let allowed = text.unicodeScalars.allSatisfy { s in
      s.isASCII && (s.properties.isAlphabetic || ("0"..."9").contains(s) || s == "." || s == "_" || s == "-")
    }
    guard allowed else {
      throw error(
        "name", at: node,
        "'\(Self.excerpt(text))' becomes a folder name, so use only letters, digits, '.', '_' and '-' "
          + "(e.g. crossprop-geoff)")
    }
    guard !text.hasPrefix(".") else {
      throw error(
        "name", at: node, "must not start with '.' (it would be a hidden folder); write e.g. crossprop-geoff")
    }
    return text
  }

  /// The root seeds: `a..<b` (half-open), `a...b` (closed), a list of distinct non-negative integers,
  /// or a single count `N` meaning `0..<N`.
  func seeds(_ node: Node) throws(SpecError) -> [UInt64] {
    let usage = "must be a range like 0..<30 or 5...9, a list of integers like [0, 3, 7], or a count like 30"
    switch node {
    case .sequence(let list):
      guard !list.isEmpty else { throw error("seeds", at: node, "the list is empty; \(usage)") }
      guard list.count <= SweepSpec.maximumSeedCount else {
        throw error("seeds", at: node, "at most \(SweepSpec.maximumSeedCount) seeds, got \(list.count)")
      }
      var out: [UInt64] = []
      var seen = Set<UInt64>()
      for item in list {
        guard case .scalar(let scalar) = item, case .value(.int(let n)) = Self.classify(scalar) else {
          throw error(
            "seeds", at: item, "every seed must be a whole number like 7, got \(Self.describe(item))")
        }
        guard n >= 0 else { throw error("seeds", at: item, "seeds must be non-negative, got \(n)") }
        guard seen.insert(UInt64(n)).inserted else {
          throw error("seeds", at: item, "seed \(n) is listed twice; each seed may appear once")
        }
        out.append(UInt64(n))
      }
      return out
    case .scalar(let scalar):
      switch Self.classify(scalar) {
      case .value(.int(let n)):
        guard n > 0 else {
          throw error(
            "seeds", at: node, "a count of seeds must be positive, got \(n); write e.g. 30 for 0..<30")
        }
        return try range(0, UInt64(n), node: node)
      case .value(.string(let text)):
        guard let parts = Self.rangeParts(text) else {
          throw error("seeds", at: node, "\(usage), got '\(Self.excerpt(text))'")
        }
        let (lower, upper, isClosed) = parts
        guard let low = UInt64(lower), let high = UInt64(upper) else {
          if lower.hasPrefix("-") || upper.hasPrefix("-") {
            throw error("seeds", at: node, "seeds must be non-negative, got '\(Self.excerpt(text))'")
          }
          throw error("seeds", at: node, "\(usage), got '\(Self.excerpt(text))'")
        }
        if isClosed {
          guard low <= high else {
            throw error("seeds", at: node, "'\(text)' is empty; the upper bound must be at least the lower")
          }
          guard high - low < UInt64(SweepSpec.maximumSeedCount) else {
            throw error("seeds", at: node, "at most \(SweepSpec.maximumSeedCount) seeds, got '\(text)'")
          }
          return try range(low, high + 1, node: node)
        }
        guard low < high else {
          throw error(
            "seeds", at: node, "'\(text)' is empty; the upper bound must exceed the lower, like 0..<30")
        }
        return try range(low, high, node: node)
      case .value, .null, .invalid:
        throw error("seeds", at: node, "\(usage), got \(Self.describe(node))")
      }
    default:
      throw error("seeds", at: node, "\(usage), got \(Self.describe(node))")
    }
  }

  private func range(_ low: UInt64, _ high: UInt64, node: Node) throws(SpecError) -> [UInt64] {
    guard high - low <= UInt64(SweepSpec.maximumSeedCount) else {
      throw error("seeds", at: node, "at most \(SweepSpec.maximumSeedCount) seeds, got \(high - low)")
    }
    return Array(low..<high)
  }

  /// `("0", "30", false)` for `0..<30`, `("5", "9", true)` for `5...9`; spaces around the operator are fine.
  private static func rangeParts(_ text: String) -> (String, String, Bool)? {
    for (op, isClosed) in [("..<", false), ("...", true)] {
      guard let r = text.range(of: op) else { continue }
      let lower = text[..<r.lowerBound].trimmingCharacters(in: .whitespaces)
      let upper = text[r.upperBound...].trimmingCharacters(in: .whitespaces)
      return (lower, upper, isClosed)
    }
    return nil
  }

  /// The variants of a sweep file as far as they could be read.
  struct Variants {
    /// The variants with a usable name, in file order.
    var read: [SweepSpec.Variant]
    /// Variants missing a parameter that was wrong.
    var incomplete: Set<String>
    /// Whether a variant was left out because its name was wrong.
    var isMissingSome: Bool
  }

  /// The variants in file order; each body is a mapping of parameters (`{}` or nothing for none).
  /// Nil, with the problem reported, when `node` holds no variants at all.
  mutating func variants(_ node: Node) -> Variants? {
    let example = "variants: {baseline: {}, adam: {step_size: 0.001}}"
    guard case .mapping(let mapping) = node else {
      if case .scalar(let scalar) = node, case .null = Self.classify(scalar) {
        report(error("variants", at: node, "needs at least one variant, like '\(example)'"))
      } else {
        report(
          error(
            "variants", at: node,
            "must map variant names to parameters, like '\(example)'; got \(Self.describe(node))"))
      }
      return nil
    }
    let entries = pairs(of: mapping, field: "variants")
    guard !entries.isEmpty else {
      report(error("variants", at: node, "needs at least one variant, like '\(example)'"))
      return nil
    }
    var out = Variants(read: [], incomplete: [], isMissingSome: false)
    for (keyNode, body) in entries {
      let name: String
      do throws(SpecError) {
        name = try keyText(keyNode, in: "variants")
        guard !name.isEmpty else { throw error("variants", at: keyNode, "a variant name must not be empty") }
        guard !name.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
          throw error("variants", at: keyNode, "a variant name must be one line without control characters")
        }
        guard !out.read.contains(where: { $0.name == name }) else {
          throw error("variants", at: keyNode, "variant '\(Self.excerpt(name))' appears twice; rename one")
        }
      } catch {
        report(error)
        out.isMissingSome = true
        continue
      }
      let path = "variants.\(name)"
      record(path, at: keyNode)
      let (parameters, isComplete) = self.parameters(body, path: path, what: "variant '\(name)'")
      out.read.append(SweepSpec.Variant(name: name, parameters: parameters))
      if !isComplete { out.incomplete.insert(name) }
    }
    return out
  }

  /// A mapping of parameter names (`[a-z0-9_]+`) to scalar values; nothing means no parameters.
  /// Each wrong entry is reported and left out, and the result is then marked incomplete.
  mutating func parameters(_ node: Node, path: String, what: String) -> (
    parameters: Parameters, isComplete: Bool
  ) {
    guard case .mapping(let mapping) = node else {
      if case .scalar(let scalar) = node, case .null = Self.classify(scalar) { return ([:], true) }
      report(
        error(
          path, at: node,
          "\(what) must be a mapping of parameters like {step_size: 0.001} (or {} for none), got \(Self.describe(node))"
        ))
      return ([:], false)
    }
    var out = Parameters()
    var isComplete = true
    for (keyNode, value) in pairs(of: mapping, field: path) {
      do throws(SpecError) {
        let name = try keyText(keyNode, in: path)
        guard !name.isEmpty, name.utf8.allSatisfy(Self.isParameterNameByte) else {
          throw error(
            path, at: keyNode,
            "parameter name '\(Self.excerpt(name))' must use only a-z, 0-9 and '_' (e.g. step_size)")
        }
        let field = "\(path).\(name)"
        guard out[name] == nil else { throw error(field, at: keyNode, "set twice; keep one") }
        record(field, at: keyNode)
        out[name] = try parameterValue(value, field: field)
      } catch {
        report(error)
        isComplete = false
      }
    }
    return (out, isComplete)
  }

  /// Whether `byte` may be in a parameter name: `[a-z0-9_]`.
  static func isParameterNameByte(_ byte: UInt8) -> Bool {
    (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
      || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
      || byte == UInt8(ascii: "_")
  }
}
