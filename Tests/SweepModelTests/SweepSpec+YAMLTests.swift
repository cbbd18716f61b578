import Foundation
import Testing

@testable import SweepModel

// MARK: - Helpers

/// The spec in `yaml`, read as `sweep.yaml`.
private func parse(_ yaml: String) throws(SpecProblems) -> SweepSpec {
  try SweepSpec.parse(yaml: yaml, file: "sweep.yaml")
}

/// The problems `yaml` has, in file order (empty when it parses).
private func problems(_ yaml: String) -> [SpecError] {
  do {
    _ = try parse(yaml)
    return []
  } catch {
    return error.problems
  }
}

/// The first problem `yaml` has, or nil when it parses.
private func specError(_ yaml: String) -> SpecError? {
  problems(yaml).first
}

/// A valid file whose `variants` body is `variants`, for error tests that only vary one part.
private func sweep(variants: String, seeds: String = "0..<3") -> String {
  """
  name: demo
  experiment: geoff
  seeds: \(seeds)
  variants:
  \(variants)
  """
}

private let fullExample = """
  name: crossprop-geoff
  experiment: geoff
  description: |
    Crossprop against backprop on the GEOFF task.
    Ignored by the parser.
  seeds: 0..<3
  fixed:
    examples_per_task: 5000
    step_size: 0.0005
    replay: false
    label: "5000"
  variants:
    zeta: {algorithm: backprop}
    alpha:
      algorithm: crossprop
      eta: 0.5
      step_size: 5e-4
      offset: -3
    defaults: {}
  metrics: [error_task1, u_drift_task1]
  curves:
    - error
  """

// MARK: - Parsing a valid file

@Test func fullExample_parsesToExpectedSpec_keepingVariantFileOrder() throws {
  let spec = try parse(fullExample)
  #expect(spec.name == "crossprop-geoff")
  #expect(spec.experiment == "geoff")
  #expect(spec.seeds == [0, 1, 2])
  #expect(
    spec.fixed == [
      "examples_per_task": .int(5000), "step_size": .double(0.0005), "replay": .bool(false),
      "label": .string("5000"),
    ])
  #expect(spec.variants.map(\.name) == ["zeta", "alpha", "defaults"])
  #expect(spec.variants[0].parameters == ["algorithm": .string("backprop")])
  #expect(
    spec.variants[1].parameters == [
      "algorithm": .string("crossprop"), "eta": .double(0.5), "step_size": .double(5e-4), "offset": .int(-3),
    ])
  #expect(spec.variants[2].parameters == [:])
  #expect(spec.metrics == ["error_task1", "u_drift_task1"])
  #expect(spec.curves == ["error"])
  #expect(spec.file == "sweep.yaml")
}

@Test func fullExample_recordsLineAndColumnOfEveryField() throws {
  func at(_ line: Int, _ column: Int) -> SweepModel.SourceLocation { .init(line: line, column: column) }
  let spec = try parse(fullExample)
  let expected: [String: SweepModel.SourceLocation] = [
    "name": at(1, 1),
    "experiment": at(2, 1),
    "description": at(3, 1),
    "seeds": at(6, 1),
    "fixed": at(7, 1),
    "fixed.examples_per_task": at(8, 3),
    "fixed.step_size": at(9, 3),
    "fixed.replay": at(10, 3),
    "fixed.label": at(11, 3),
    "variants": at(12, 1),
    "variants.zeta": at(13, 3),
    "variants.zeta.algorithm": at(13, 10),
    "variants.alpha": at(14, 3),
    "variants.alpha.algorithm": at(15, 5),
    "variants.alpha.eta": at(16, 5),
    "variants.alpha.step_size": at(17, 5),
    "variants.alpha.offset": at(18, 5),
    "variants.defaults": at(19, 3),
    "metrics": at(20, 1),
    "metrics.error_task1": at(20, 11),
    "metrics.u_drift_task1": at(20, 24),
    "curves": at(21, 1),
    "curves.error": at(22, 5),
  ]
  #expect(spec.locations == expected)
}

@Test func laterValidationErrors_nameTheLineTheFieldWasSetOn() throws {
  let spec = try parse(fullExample)
  let error = spec.error(at: "variants.alpha.step_size", "must be positive, got -0.1")
  #expect(error.description == "sweep.yaml:17:5: variants.alpha.step_size: must be positive, got -0.1")
}

@Test func expand_isVariantMajor_andOverlaysFixedWithVariant() throws {
  let runs = try parse(fullExample).expand()
  #expect(runs.count == 9)
  #expect(runs.map(\.ordinal) == Array(0..<9))
  #expect(
    runs.map(\.variant) == [
      "zeta", "zeta", "zeta", "alpha", "alpha", "alpha", "defaults", "defaults", "defaults",
    ])
  #expect(runs.map(\.seed) == [0, 1, 2, 0, 1, 2, 0, 1, 2])
  #expect(runs.allSatisfy { $0.experiment == "geoff" })
  // The variant's step_size replaces the fixed one; fixed-only keys are kept.
  #expect(runs[3].parameters["step_size"] == .double(5e-4))
  #expect(runs[3].parameters["examples_per_task"] == .int(5000))
  #expect(runs[0].parameters["step_size"] == .double(0.0005))
  #expect(runs[6].parameters == (try parse(fullExample)).fixed)
}

@Test func scalars_areTypedByTheCoreSchema_andQuotedValuesStayStrings() throws {
  let spec = try parse(
    sweep(
      variants: """
          v:
            a: 5000
            b: -3
            c: 0.0005
            d: 5e-4
            e: 1.0
            f: true
            g: False
            h: "5000"
            i: 'true'
            j: adam
            k: yes
            l: 0x1F
            m: !!str 12
            n: !!float 2
            o: +7
            p: .5
            q: |
              two
              lines
            r: ""
        """)
  ).variants[0].parameters
  #expect(spec["a"] == .int(5000))
  #expect(spec["b"] == .int(-3))
  #expect(spec["c"] == .double(0.0005))
  #expect(spec["d"] == .double(0.0005))
  #expect(spec["e"] == .double(1.0))
  #expect(spec["f"] == .bool(true))
  #expect(spec["g"] == .bool(false))
  #expect(spec["h"] == .string("5000"))
  #expect(spec["i"] == .string("true"))
  #expect(spec["j"] == .string("adam"))
  #expect(spec["k"] == .string("yes"))
  #expect(spec["l"] == .string("0x1F"))
  #expect(spec["m"] == .string("12"))
  #expect(spec["n"] == .double(2))
  #expect(spec["o"] == .int(7))
  #expect(spec["p"] == .double(0.5))
  #expect(spec["q"] == .string("two\nlines\n"))
  #expect(spec["r"] == .string(""))
}

@Test func seeds_acceptHalfOpenAndClosedRanges_countsAndLists() throws {
  #expect(try parse(sweep(variants: "  v: {}", seeds: "0..<3")).seeds == [0, 1, 2])
  #expect(try parse(sweep(variants: "  v: {}", seeds: "5...9")).seeds == [5, 6, 7, 8, 9])
  #expect(try parse(sweep(variants: "  v: {}", seeds: "7...7")).seeds == [7])
  #expect(try parse(sweep(variants: "  v: {}", seeds: "\"2 ..< 4\"")).seeds == [2, 3])
  #expect(try parse(sweep(variants: "  v: {}", seeds: "4")).seeds == [0, 1, 2, 3])
  #expect(try parse(sweep(variants: "  v: {}", seeds: "[9, 3, 5]")).seeds == [9, 3, 5])
  #expect(try parse(sweep(variants: "  v: {}", seeds: "\n  - 1\n  - 0")).seeds == [1, 0])
}

@Test func anchorsAliasesAndMergeKeys_shareParameters_withExplicitKeysWinning() throws {
  let spec = try parse(
    """
    name: demo
    experiment: geoff
    seeds: 2
    fixed: &base {step_size: 0.1, hidden: 20}
    variants:
      same: *base
      wider:
        <<: *base
        hidden: 40
    """)
  #expect(spec.variants[0].parameters == ["step_size": .double(0.1), "hidden": .int(20)])
  #expect(spec.variants[1].parameters == ["step_size": .double(0.1), "hidden": .int(40)])
}

@Test func mergeKeys_nest_aMergedMappingBringsItsOwnMergesToo() throws {
  // teacher-smoke's 500-step stages merged an evaluation block that itself merged the tasks: the
  // tasks' keys were lost until merges nested.
  let spec = try parse(
    """
    name: demo
    experiment: geoff
    seeds: 1
    fixed: &tasks {step_size: 0.1, hidden: 20}
    variants:
      evaluation: &evaluation
        <<: *tasks
        hidden: 30
        momentum: 0.5
      long:
        <<: *evaluation
        momentum: 0.9
    """)
  #expect(
    spec.variants[0].parameters == ["step_size": .double(0.1), "hidden": .int(30), "momentum": .double(0.5)])
  #expect(
    spec.variants[1].parameters == ["step_size": .double(0.1), "hidden": .int(30), "momentum": .double(0.9)])
}

@Test func nullOptionalSections_areEmpty_andVariantWithNoBodyHasNoParameters() throws {
  let spec = try parse(
    """
    name: demo
    experiment: geoff
    seeds: 1
    fixed:
    variants:
      baseline:
    metrics:
    """)
  #expect(spec.fixed.isEmpty)
  #expect(spec.variants == [.init(name: "baseline", parameters: [:])])
  #expect(spec.metrics.isEmpty)
}

// MARK: - Errors: field path and line

/// Checks that `yaml` fails at `field` on `line`, with a message containing `fragment`.
private func expectError(
  _ yaml: String, field: String, line: Int, _ fragment: String,
  sourceLocation: Testing.SourceLocation = #_sourceLocation
) {
  let found = problems(yaml)
  guard let error = found.first else {
    Issue.record("expected an error at \(field):\(line)", sourceLocation: sourceLocation)
    return
  }
  // One mistake, one problem: nothing reported twice, and no knock-on problems.
  #expect(found.count == 1, "\(found)", sourceLocation: sourceLocation)
  #expect(error.field == field, "\(error)", sourceLocation: sourceLocation)
  #expect(error.location?.line == line, "\(error)", sourceLocation: sourceLocation)
  #expect(error.message.contains(fragment), "\(error)", sourceLocation: sourceLocation)
  #expect(error.file == "sweep.yaml", sourceLocation: sourceLocation)
}

@Test func unknownTopLevelKey_isReportedAtItsLine_listingTheExpectedKeys() {
  expectError(
    """
    name: demo
    experiment: geoff
    seeds: 3
    variants: {v: {}}
    foo: 1
    """, field: "", line: 5,
    "unknown key 'foo' (expected one of name, experiment, seeds, fixed, variants, grid, metrics, curves, segment_steps, baseline, intervals, description, overrides)"
  )
}

@Test func misspelledTopLevelKey_suggestsTheIntendedOne() {
  expectError(
    """
    name: demo
    experiment: geoff
    seed: 3
    variants: {v: {}}
    """, field: "", line: 3, "did you mean 'seeds'?")
}

@Test func missingRequiredKey_namesTheKeyAndAnExample() {
  expectError("name: demo\nexperiment: geoff\nvariants: {v: {}}\n", field: "seeds", line: 1, "seeds: 0..<30")
  expectError("name: demo\nseeds: 3\nvariants: {v: {}}\n", field: "experiment", line: 1, "experiment: geoff")
  expectError(
    "experiment: geoff\nseeds: 3\nvariants: {v: {}}\n", field: "name", line: 1, "name: crossprop-geoff")
  expectError("name: demo\nexperiment: geoff\nseeds: 3\n", field: "variants", line: 1, "variants:")
}

@Test func badSeeds_areReportedAtTheSeedsValue() {
  expectError(
    sweep(variants: "  v: {}", seeds: "abc"), field: "seeds", line: 3,
    "must be a range like 0..<30 or 5...9, a list of integers like [0, 3, 7], or a count like 30, got 'abc'")
  expectError(sweep(variants: "  v: {}", seeds: "-2..<5"), field: "seeds", line: 3, "non-negative")
  expectError(sweep(variants: "  v: {}", seeds: "0..<0"), field: "seeds", line: 3, "is empty")
  expectError(sweep(variants: "  v: {}", seeds: "9...5"), field: "seeds", line: 3, "is empty")
  expectError(sweep(variants: "  v: {}", seeds: "0"), field: "seeds", line: 3, "must be positive")
  expectError(sweep(variants: "  v: {}", seeds: "[]"), field: "seeds", line: 3, "the list is empty")
  expectError(sweep(variants: "  v: {}", seeds: "0..<3000000000"), field: "seeds", line: 3, "at most 100000")
  expectError(sweep(variants: "  v: {}", seeds: "1.5"), field: "seeds", line: 3, "got '1.5'")
  expectError(sweep(variants: "  v: {}", seeds: "{a: 1}"), field: "seeds", line: 3, "got a mapping")
}

@Test func badSeedListItems_areReportedAtTheItemsOwnLine() {
  let yaml = """
    name: demo
    experiment: geoff
    seeds:
      - 0
      - 1
      - 1
    variants: {v: {}}
    """
  expectError(yaml, field: "seeds", line: 6, "seed 1 is listed twice")
  expectError(
    yaml.replacingOccurrences(of: "- 1\n  - 1", with: "- 1\n  - -4"), field: "seeds", line: 6, "non-negative")
  expectError(
    yaml.replacingOccurrences(of: "- 1\n  - 1", with: "- 1\n  - x"), field: "seeds", line: 6, "whole number")
}

@Test func badName_explainsItBecomesAFolderName() {
  expectError(
    "experiment: geoff\nseeds: 3\nvariants: {v: {}}\nname: my sweep/1\n", field: "name", line: 4,
    "folder name")
  expectError(
    "experiment: geoff\nseeds: 3\nvariants: {v: {}}\nname: .hidden\n", field: "name", line: 4,
    "start with '.'")
  expectError(
    "experiment: geoff\nseeds: 3\nvariants: {v: {}}\nname: 2024\n", field: "name", line: 4, "quote it")
  expectError(
    "experiment: geoff\nseeds: 3\nvariants: {v: {}}\nname: [a]\n", field: "name", line: 4, "got a list")
}

@Test func badParameterValues_nameTheFullPathAndLine() {
  let base = """
      adam:
        algorithm: adam
        step_size: VALUE
    """
  func with(_ value: String) -> String {
    sweep(variants: base.replacingOccurrences(of: "VALUE", with: value))
  }
  expectError(with(""), field: "variants.adam.step_size", line: 7, "has no value")
  expectError(with("~"), field: "variants.adam.step_size", line: 7, "has no value")
  expectError(with("null"), field: "variants.adam.step_size", line: 7, "has no value")
  expectError(
    with("[0.1, 0.2]"), field: "variants.adam.step_size", line: 7,
    "list the values under 'grid:' (grid: {step_size: [0, 0.5]})")
  expectError(with("{a: 1}"), field: "variants.adam.step_size", line: 7, "got a mapping")
  expectError(with(".nan"), field: "variants.adam.step_size", line: 7, "finite")
  expectError(with("-.inf"), field: "variants.adam.step_size", line: 7, "finite")
  expectError(with("1e999"), field: "variants.adam.step_size", line: 7, "out of range")
  expectError(with("99999999999999999999"), field: "variants.adam.step_size", line: 7, "out of range")
  expectError(with("!!int abc"), field: "variants.adam.step_size", line: 7, "whole number")
  expectError(with("!custom 3"), field: "variants.adam.step_size", line: 7, "unsupported tag")
}

@Test func badFixedValue_isReportedUnderFixed() {
  expectError(
    """
    name: demo
    experiment: geoff
    seeds: 3
    fixed:
      examples_per_task: 5000
      step_size:
    variants: {v: {}}
    """, field: "fixed.step_size", line: 6, "has no value")
}

@Test func badParameterName_isReportedAtTheKey() {
  expectError(
    sweep(variants: "  adam:\n    StepSize: 0.1"), field: "variants.adam", line: 6, "a-z, 0-9 and '_'")
  expectError(sweep(variants: "  adam:\n    step-size: 0.1"), field: "variants.adam", line: 6, "step_size")
  expectError(
    "name: demo\nexperiment: geoff\nseeds: 3\nfixed: {\"\": 1}\nvariants: {v: {}}\n", field: "fixed", line: 4,
    "parameter name ''")
}

@Test func badVariants_areReported() {
  expectError(sweep(variants: "  {}"), field: "variants", line: 5, "at least one variant")
  expectError(
    "name: d\nexperiment: g\nseeds: 1\nvariants:\n", field: "variants", line: 4, "at least one variant")
  expectError(sweep(variants: "  - a\n  - b"), field: "variants", line: 5, "got a list")
  expectError(
    sweep(variants: "  adam: 0.1"), field: "variants.adam", line: 5, "must be a mapping of parameters")
  expectError(sweep(variants: "  \"\": {}"), field: "variants", line: 5, "must not be empty")
  expectError(sweep(variants: "  1: {}\n  \"1\": {}"), field: "variants", line: 6, "appears twice")
}

@Test func duplicateKeys_areReportedWithTheirName() {
  guard let error = specError(sweep(variants: "  adam: {}\n  sgd: {}\n  adam: {eta: 1}")) else {
    Issue.record("expected an error")
    return
  }
  #expect(error.message.contains("duplicate key 'adam'"))
  #expect(error.location?.line == 5)
}

@Test func badMetricsAndCurves_areReported() {
  expectError(sweep(variants: "  v: {}") + "\nmetrics: error", field: "metrics", line: 6, "must be a list")
  expectError(sweep(variants: "  v: {}") + "\nmetrics: [a, a]", field: "metrics", line: 6, "listed twice")
  expectError(
    sweep(variants: "  v: {}") + "\ncurves:\n  - error\n  - 3", field: "curves", line: 8, "quote it")
  expectError(sweep(variants: "  v: {}") + "\ncurves: [[a]]", field: "curves", line: 6, "got a list")
}

@Test func misIndentedDescription_isCaught() {
  let found = problems(
    """
    name: demo
    description:
      seeds: 3
    experiment: geoff
    """)
  // Seeds and variants are missing too: the seeds line belongs to the description.
  #expect(
    found.map(\.field) == ["seeds", "variants", "description"]
      && found[2].location?.line == 3 && found[2].message.contains("must be text"), "\(found)")
}

@Test func yamlSyntaxErrors_becomeSpecErrorsWithLineAndColumn() {
  let unclosed = """
    name: demo
    experiment: geoff
    seeds: [0, 1
    variants: {v: {}}
    """
  let error = specError(unclosed)
  #expect(error?.field == "")
  #expect(error?.message.hasPrefix("invalid YAML:") == true, "\(String(describing: error))")
  #expect(error?.location != nil)

  let badIndent = """
    name: demo
    experiment: geoff
    seeds: 3
    variants:
      adam:
        eta: 1
       beta: 2
    """
  #expect(specError(badIndent)?.location?.line == 7, "\(String(describing: specError(badIndent)))")

  let colon = "name: demo\nexperiment: a: b\nseeds: 3\n"
  #expect(specError(colon)?.location?.line == 2)
  #expect(specError(colon)?.message.contains("quote values") == true)

  let tab = "name: demo\nvariants:\n\tadam: {}\n"
  #expect(specError(tab)?.location?.line == 3, "\(String(describing: specError(tab)))")

  let alias = "name: *nowhere\n"
  #expect(specError(alias)?.message.contains("define the anchor") == true)

  let twoDocuments = "name: a\n---\nname: b\n"
  #expect(specError(twoDocuments)?.location?.line == 2)
}

@Test func controlCharacters_areReportedAtTheirLine() {
  let error = specError("name: demo\nexperiment: ge\u{1}off\n")
  #expect(error?.location?.line == 2, "\(String(describing: error))")
}

@Test func emptyOrNonMappingFiles_areSpecErrorsSayingWhatToWrite() {
  #expect(specError("")?.message.contains("the file is empty") == true)
  #expect(specError("# only a comment\n\n")?.message.contains("the file is empty") == true)
  #expect(specError("- name: demo\n")?.message.contains("must be a mapping of keys") == true)
  #expect(specError("just words")?.message.contains("got 'just words'") == true)
}

// MARK: - Messages and files

@Test func specErrorDescription_readsFileLineColumnFieldMessage() {
  let located = SpecError(
    file: "sweep.yaml", location: SweepModel.SourceLocation(line: 12, column: 5),
    field: "variants.adam.step_size",
    message: "must be positive, got -0.1")
  #expect(located.description == "sweep.yaml:12:5: variants.adam.step_size: must be positive, got -0.1")
  let whole = SpecError(file: "sweep.yaml", location: nil, field: "", message: "the file is empty")
  #expect(whole.description == "sweep.yaml: the file is empty")
  let parsed = specError(sweep(variants: "  adam:\n    step_size: .inf"))
  #expect(
    parsed?.description == "sweep.yaml:6:16: variants.adam.step_size: must be a finite number, got '.inf'")
}

@Test func load_readsAFile_andNamesAMissingPath() throws {
  let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sweepspec-\(getpid())")
  try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
  defer { try? FileManager.default.removeItem(at: directory) }
  let path = directory.appendingPathComponent("sweep.yaml").path
  try fullExample.write(toFile: path, atomically: true, encoding: .utf8)

  let spec = try SweepSpec.load(path: path)
  #expect(spec.file == path)
  #expect(spec.variants.count == 3)

  let missing = directory.appendingPathComponent("nope.yaml").path
  #expect(throws: SpecProblems.self) { try SweepSpec.load(path: missing) }
  do {
    _ = try SweepSpec.load(path: missing)
  } catch {
    #expect(error.problems.map(\.file) == [missing])
    #expect(error.description.hasPrefix(missing + ": no such file"))
  }
  do {
    _ = try SweepSpec.load(path: directory.path)
    Issue.record("a directory should not load")
  } catch {
    #expect(error.description.contains("directory"))
  }
}

/// The first error loading `bytes` as a sweep file gives, or nil when it loads.
private func loadError(_ bytes: [UInt8]) throws -> SpecError? {
  let path = FileManager.default.temporaryDirectory.appendingPathComponent(
    "sweepspec-\(UUID().uuidString).yaml"
  )
  .path
  try Data(bytes).write(to: URL(fileURLWithPath: path))
  defer { try? FileManager.default.removeItem(atPath: path) }
  do {
    _ = try SweepSpec.load(path: path)
    return nil
  } catch {
    #expect(error.problems.map(\.file) == [path])
    return error.problems.first
  }
}

@Test func load_rejectsBytesThatAreNotUTF8_atTheFirstOnesLineAndColumn() throws {
  // Latin-1 'é' (0xE9) where UTF-8 needs two bytes: the summary would show 'mom\u{FFFD}ntum'.
  let latin1 = Array("name: x\nexperiment: geoff\nseeds: 2\nfixed:\n  momentum_\u{E9}: 0.9\n".utf8)
    .map { $0 == 0xC3 ? 0xE9 : $0 }.filter { $0 != 0xA9 }
  let error = try #require(try loadError(latin1))
  #expect(error.location == SourceLocation(line: 5, column: 12), "\(error)")
  #expect(error.field == "")
  #expect(error.message == "the file is not UTF-8 text (byte 0xE9 here); save it as UTF-8")
  #expect(
    error.description.hasSuffix(".yaml:5:12: the file is not UTF-8 text (byte 0xE9 here); save it as UTF-8"))

  // Columns count code points ("é" is one), and CR LF ends a line once.
  let crlf = Array("name: x\r\nexperiment: geoff\r\n# \u{E9}t\u{E9} ".utf8) + [0xFF] + Array("\r\n".utf8)
  #expect(try loadError(crlf)?.location == SourceLocation(line: 3, column: 7))
  // A sequence cut short at the end of the file is located at its first byte.
  #expect(try loadError(Array("name: x\n".utf8) + [0xC3])?.location == SourceLocation(line: 2, column: 1))
  #expect(try loadError(Array("name: x\n".utf8) + [0xC3])?.message.contains("byte 0xC3") == true)
  // An encoded surrogate (ED A0 80) is not UTF-8 either.
  #expect(
    try loadError(Array("a: ".utf8) + [0xED, 0xA0, 0x80])?.location == SourceLocation(line: 1, column: 4))
}

@Test func load_saysWhyAFileCannotBeRead() throws {
  // Permission bits stop everyone but root; for root, a file that opens but fails to read.
  let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
    "sweepspec-\(UUID().uuidString)")
  try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
  defer { try? FileManager.default.removeItem(at: directory) }
  var path = directory.appendingPathComponent("locked.yaml").path
  try fullExample.write(toFile: path, atomically: true, encoding: .utf8)
  try FileManager.default.setAttributes([.posixPermissions: 0], ofItemAtPath: path)
  if FileManager.default.isReadableFile(atPath: path) {
    #if os(Linux)
      path = "/proc/self/mem"
    #else
      return
    #endif
  }
  do {
    _ = try SweepSpec.load(path: path)
    Issue.record("\(path) should not load")
  } catch {
    #expect(error.description.hasPrefix(path + ": cannot read the file ("), "\(error)")
    #expect(
      error.description.contains("Permission denied") || error.description.contains("Input/output error"),
      "\(error)")
  }
}

@Test func segmentSteps_isOptional_positive_andLocatedWhenWrong() throws {
  let base = "name: s\nexperiment: lstm-metalearning\nseeds: 2\nvariants: {a: {}}\n"
  #expect(try parse(base).segmentSteps == nil)
  let chained = try parse(base + "segment_steps: 1000\n")
  #expect(chained.segmentSteps == 1000)
  #expect(chained.locations["segment_steps"] == SourceLocation(line: 5, column: 1))
  // Not part of the run keys: the same runs whatever the segment length.
  #expect(chained.expand().map(\.key) == (try parse(base)).expand().map(\.key))
  for bad in ["0", "-3", "1.5", "lots", "[7]"] {
    #expect {
      _ = try parse(base + "segment_steps: \(bad)\n")
    } throws: { error in
      let message = "\(error)"
      return message.hasPrefix("sweep.yaml:5:16: segment_steps: must be a positive whole number")
    }
  }
}

// MARK: - Several problems

@Test func severalMistakes_areAllReported_oneLineEach_inFileOrder() {
  let yaml = """
    name: my sweep
    experiment: geoff
    seed: 0..<3
    fixed:
      examples_per_task: 100
      Hidden: 3
    variants:
      b: {step_size: .nan, eta: [1, 2]}
      "": {}
      a: 7
    metrics: [error_task1, error_task1]
    segment_steps: 0
    """
  var lines: [String] = []
  do {
    _ = try SweepSpec.parse(yaml: yaml, file: "sweep.yaml")
  } catch {
    lines = "\(error)".split(separator: "\n").map(String.init)
  }
  #expect(
    lines == [
      "sweep.yaml:1:7: name: 'my sweep' becomes a folder name, so use only letters, digits, '.', '_' and '-' "
        + "(e.g. crossprop-geoff)",
      "sweep.yaml:3:1: unknown key 'seed' (expected one of name, experiment, seeds, fixed, variants, grid, metrics, "
        + "curves, segment_steps, baseline, intervals, description, overrides); did you mean 'seeds'?",
      "sweep.yaml:6:3: fixed: parameter name 'Hidden' must use only a-z, 0-9 and '_' (e.g. step_size)",
      "sweep.yaml:8:18: variants.b.step_size: must be a finite number, got '.nan'",
      "sweep.yaml:8:29: variants.b.eta: must be a single value (a number, true/false or a word), got a list; "
        + "list the values under 'grid:' (grid: {eta: [0, 0.5]}) or give each its own variant",
      "sweep.yaml:9:3: variants: a variant name must not be empty",
      "sweep.yaml:10:6: variants.a: variant 'a' must be a mapping of parameters like {step_size: 0.001} (or {} "
        + "for none), got '7'",
      "sweep.yaml:11:24: metrics: 'error_task1' is listed twice",
      "sweep.yaml:12:16: segment_steps: must be a positive whole number of steps per segment, like 1000, got '0'",
    ], "\(lines.joined(separator: "\n"))")
}

@Test func moreThanTwentyMistakes_listTwenty_thenCountTheRest() throws {
  let variants = (1...25).map { "  v\($0): {step_size: .inf}" }.joined(separator: "\n")
  var lines: [String] = []
  do {
    _ = try SweepSpec.parse(yaml: sweep(variants: variants), file: "sweep.yaml")
  } catch {
    lines = "\(error)".split(separator: "\n").map(String.init)
  }
  try #require(lines.count == 21)
  #expect(lines.first == "sweep.yaml:5:19: variants.v1.step_size: must be a finite number, got '.inf'")
  #expect(lines[19] == "sweep.yaml:24:20: variants.v20.step_size: must be a finite number, got '.inf'")
  #expect(lines.last == "sweep.yaml: and 5 more problems; fix these and run again to see them")
}

@Test func yamlSyntaxError_endsReading_andIsTheOnlyProblem() {
  let found = problems(
    """
    name: demo
    workers: 3
    seeds: [0, 1
    variants: {v: {}}
    """)
  #expect(found.count == 1, "\(found)")
  #expect(found.first?.message.hasPrefix("invalid YAML:") == true, "\(found)")
}

// MARK: - Size

@Test func tooManyRuns_areRefusedBeforeExpanding_namingTheCountTheLimitAndWhatToDo() throws {
  let hundred = (1...100).map { "  v\($0): {step_size: 0.\($0)}" }.joined(separator: "\n")
  var message = ""
  do {
    let spec = try SweepSpec.parse(yaml: sweep(variants: hundred, seeds: "0..<100000"), file: "sweep.yaml")
    message = "accepted \(spec.variants.count) x \(spec.seeds.count)"
  } catch {
    message = "\(error)"
  }
  #expect(
    message
      == "sweep.yaml:3:1: seeds: 100 variants × 100000 seeds make 10000000 runs, more than the 1000000 one "
      + "sweep may have; split it into sweeps of at most 1000000 runs (e.g. 10000 seeds in each file, each "
      + "with its own name)")
  // Exactly at the limit is fine.
  let ten = (1...10).map { "  v\($0): {step_size: 0.\($0)}" }.joined(separator: "\n")
  let spec = try parse(sweep(variants: ten, seeds: "0..<100000"))
  #expect(spec.variants.count * spec.seeds.count == 1_000_000)
}
