import Foundation
import SweepModel

/// A researcher's own program as an experiment: each run starts it once, in a fresh working folder,
/// with the run's parameters and seed, and reads its metrics and curves from its standard output
/// (``ProgramOutput``). Every parameter but the ones below is the program's own, passed through.
///
/// The run key covers the program's content (`program_sha256`, the SHA-256 of `files`, filled in
/// by the coordinator), so editing the program re-runs what it affects and reverting the edit finds
/// the old outcomes. It covers `directory` too (where the files are, an absolute path every worker
/// reads as given, as `data_dir` is for datasets): a checkout in another folder makes other keys.
public enum CommandExperiment: Experiment {
  public static let descriptor: ExperimentDescriptor = {
    var descriptor = ExperimentDescriptor(
      name: "command",
      summary: "Your own program: parameters as JSON on stdin, results as `@metasweep {...}` lines on stdout",
      parameters: CommandConfig.parameterDescriptors, metrics: [], series: [])
    descriptor.acceptsOtherParameters = true
    return descriptor
  }()

  /// The parameters the family itself reads; all others are the program's.
  static let ownParameters = Set(CommandConfig.parameterDescriptors.map(\.name))

  public static func validate(parameters: Parameters) throws {
    for name in ProgramParameters.reserved where parameters[name] != nil {
      throw ExperimentError(
        message: "command: `\(name)` is what MetaSweep passes the program; name the parameter otherwise")
    }
    let config = try CommandConfig(parameters: parameters)
    _ = try config.words(parameters: parameters, seed: 0)
    if config.ships {
      let files = config.fileList(parameters: parameters)
      if files.isEmpty {
        throw ExperimentError(message: "command: `ship` needs the program's files: list them in `files`")
      }
      for file in files where !ProgramBundle.isRelative(file) {
        throw ExperimentError(
          message: "command: a shipped file must be a path inside `directory` without '..', got '\(file)'")
      }
    }
  }

  /// Pins `program_sha256` to the files as the coordinator sees them.
  public static func resolve(parameters: Parameters) throws -> Parameters {
    let config = try CommandConfig(parameters: parameters)
    var resolved = parameters
    resolved["program_sha256"] = .string(try config.programHash(parameters: parameters))
    return resolved
  }

  /// The folder of the sweep file, for `directory` when the sweep leaves it empty.
  public static func placed(_ parameters: Parameters, sweepFile: String) -> Parameters {
    guard
      (parameters["directory"].flatMap { if case .string(let text) = $0 { text } else { nil } } ?? "").isEmpty
    else { return parameters }
    var placed = parameters
    let file = URL(fileURLWithPath: sweepFile).standardizedFileURL
    placed["directory"] = .string(file.deletingLastPathComponent().path)
    return placed
  }

  public static func metrics(for parameters: Parameters) -> [String] { [] }
  public static func series(for parameters: Parameters) -> [String] { [] }

  public static func run(parameters: Parameters, seed: UInt64) throws -> Outcome {
    try whole(runSegment(parameters: parameters, seed: seed, checkpoint: nil, maxSteps: 0))
  }

  public static func run(parameters: Parameters, seed: UInt64, inputs: ArtifactInputs) throws -> Outcome {
    try whole(runSegment(parameters: parameters, seed: seed, inputs: inputs, checkpoint: nil, maxSteps: 0))
  }

  private static func whole(_ segment: SegmentOutcome) throws -> Outcome {
    guard case .finished(let outcome) = segment else {
      throw ExperimentError(message: "command: a whole run ended at a checkpoint")
    }
    return outcome
  }

  /// The program's files, when the sweep ships them (`ship: true`), checked against the hash the
  /// sweep pinned: a file edited since then fails the sweep's start rather than its runs.
  public static func shippedFiles(parameters: Parameters) throws -> [[UInt8]] {
    let config = try CommandConfig(parameters: parameters)
    guard config.ships else { return [] }
    let bundle = try config.bundle(parameters: parameters)
    guard SHA256.hexString(SHA256.digest(bundle)) == config.programSHA256 else {
      throw ExperimentError(
        message:
          "command: \(config.fileList(parameters: parameters).joined(separator: ", ")) changed while the sweep "
          + "started; start it again")
    }
    return [bundle]
  }

  public static func shippedHashes(parameters: Parameters) -> [String] {
    guard let config = try? CommandConfig(parameters: parameters), config.ships, !config.programSHA256.isEmpty
    else { return [] }
    return [config.programSHA256]
  }

  /// A segment of a run whose program was shipped: run from this host's unpacked copy of it.
  public static func runSegment(
    parameters: Parameters, seed: UInt64, inputs: ArtifactInputs, checkpoint: [UInt8]?, maxSteps: Int
  ) throws -> SegmentOutcome {
    let config = try CommandConfig(parameters: parameters)
    guard config.ships else {
      return try runSegment(parameters: parameters, seed: seed, checkpoint: checkpoint, maxSteps: maxSteps)
    }
    guard let bundle = inputs.bytes[config.programSHA256] else {
      throw ExperimentError(
        message: "command: the shipped program \(config.programSHA256.prefix(12)) was not fetched")
    }
    let folder = try ProgramBundle.unpacked(bundle, sha256: config.programSHA256)
    return try segment(
      parameters: parameters, config: config, seed: seed, checkpoint: checkpoint, maxSteps: maxSteps,
      directory: folder)
  }

  /// One segment of a run: the program from the start (`checkpoint` nil) or restarted from the
  /// file of the checkpoint its last segment ended at, told to stop `maxSteps` of its steps further
  /// on (`stop_at_step`; 0: run to the end). The program decides what a step is and when to save;
  /// one that ignores `stop_at_step` runs whole in one segment. A run done in segments is the whole
  /// run only if the program continues exactly from its file.
  public static func runSegment(parameters: Parameters, seed: UInt64, checkpoint: [UInt8]?, maxSteps: Int)
    throws -> SegmentOutcome
  {
    let config = try CommandConfig(parameters: parameters)
    // This host's copy of the program must be the one the sweep pinned; otherwise another worker
    // may have the right one.
    if !config.programSHA256.isEmpty && !config.ships {
      let here = try config.programHash(parameters: parameters)
      if here != config.programSHA256 {
        throw ExperimentError(
          message:
            "command: this host's copy of \(config.fileList(parameters: parameters).joined(separator: ", ")) in "
            + "\(config.directory) has SHA-256 \(here.prefix(12)), the sweep pinned \(config.programSHA256.prefix(12))",
          isRefusal: true)
      }
    }
    return try segment(
      parameters: parameters, config: config, seed: seed, checkpoint: checkpoint, maxSteps: maxSteps,
      directory: config.directory.isEmpty ? FileManager.default.currentDirectoryPath : config.directory)
  }

  /// A segment of a run with the program's files in `directory`.
  private static func segment(
    parameters: Parameters, config: CommandConfig, seed: UInt64, checkpoint: [UInt8]?, maxSteps: Int,
    directory: String
  ) throws -> SegmentOutcome {
    let resumed = try checkpoint.map { try CommandCheckpoint(decoding: $0) }
    let folder = try CommandRunner.makeFolder()
    defer { try? FileManager.default.removeItem(atPath: folder) }
    var environment = ["METASWEEP_SEED": String(seed)]
    let stopAtStep = maxSteps > 0 ? (resumed?.step ?? 0) + maxSteps : nil
    if let stopAtStep { environment["METASWEEP_STOP_AT_STEP"] = String(stopAtStep) }
    var resumePath: String?
    if let resumed {
      let path = folder + "/" + resumed.fileName
      guard FileManager.default.createFile(atPath: path, contents: Data(resumed.file)) else {
        throw ExperimentError(message: "command: cannot write the checkpoint to \(path)")
      }
      resumePath = path
      environment["METASWEEP_RESUME_FROM"] = path
    }
    let program = ProgramParameters(
      parameters: parameters.filter { !ownParameters.contains($0.key) }, seed: seed, resumeFrom: resumePath,
      stopAtStep: stopAtStep)
    var settings = CommandRunner.Settings(
      folder: folder, words: try config.words(parameters: parameters, seed: seed), directory: directory,
      input: program.json, environment: environment, timeout: .milliseconds(Int64(config.timeout * 1000)))
    settings.resumingFrom = resumed
    settings.stopAtStep = stopAtStep
    return try CommandRunner.run(settings)
  }
}

/// The program's own parameters and the seed, as the JSON object its standard input gets: keys
/// sorted, numbers as numbers; in a chained sweep `stop_at_step` (where the segment should end),
/// and `resume_from` when the run continues from a checkpoint file.
struct ProgramParameters {
  var parameters: Parameters
  var seed: UInt64
  var resumeFrom: String?
  var stopAtStep: Int?

  /// The names the input object uses for MetaSweep's own values, which no parameter may take.
  static let reserved = ["seed", "resume_from", "stop_at_step"]

  var json: [UInt8] {
    var object = parameters
    object["seed"] = .int(Int(truncatingIfNeeded: seed))
    if let resumeFrom { object["resume_from"] = .string(resumeFrom) }
    if let stopAtStep { object["stop_at_step"] = .int(stopAtStep) }
    return Array(CanonicalJSON.parameters(object).utf8) + [UInt8(ascii: "\n")]
  }
}

/// The settings of a command run.
public struct CommandConfig: ExperimentConfig {
  /// The program and its arguments, split into words as a shell would (quotes group, nothing is
  /// expanded); `{name}` becomes the value of parameter `name` (`{seed}` the seed). Required.
  public var command = ""
  /// Comma-separated paths (relative to `directory`) whose content is the program's identity; ""
  /// takes the words of `command` that name files there.
  public var files = ""
  /// The absolute folder relative paths refer to; "" is the sweep file's folder (for `run-one`,
  /// the current folder).
  public var directory = ""
  /// Seconds an attempt may take before its whole process group is killed (3600).
  public var timeout = 3600.0
  /// Whether `command` runs through `/bin/sh -c` (placeholders are then quoted for the shell).
  public var usesShell = false
  /// Whether the coordinator ships the files to its workers (which then need no copy of them).
  public var ships = false
  /// The SHA-256 of `files`, filled in by the coordinator ("" before).
  public var programSHA256 = ""

  public init() {}

  public static let experimentName = "command"

  public static let parameters: [ParameterDeclaration<CommandConfig>] = [
    .text(
      "command", \.command, default: "",
      "The program and its arguments (no shell: words split as a shell would, {name} replaced by parameter name)."
    ),
    .text(
      "files", \.files, default: "",
      "Comma-separated files whose content is the program's identity (\"\": the command's files)."),
    .text(
      "directory", \.directory, default: "",
      "Absolute folder of the program's files, the same on every worker (\"\": the sweep file's folder)."),
    .double(
      "timeout", \.timeout, in: 0.001...10_000_000, default: 3600,
      "Seconds before an attempt is killed, with every process it started."),
    .bool("shell", \.usesShell, default: false, "Run the command through /bin/sh -c."),
    .bool(
      "ship", \.ships, default: false,
      "Ship the files to the workers through the coordinator (no shared filesystem needed)."
    ).keyedOnlyWhenSet(),
    .text(
      "program_sha256", \.programSHA256, default: "", "SHA-256 of the files, filled in by the coordinator."),
  ]

  public func check() throws {
    if command.trimmingCharacters(in: .whitespaces).isEmpty {
      throw ExperimentError(message: "command: set `command`, the program to run (python3 train.py)")
    }
    if !directory.isEmpty && !directory.hasPrefix("/") {
      throw ExperimentError(message: "command: directory '\(directory)' must be an absolute path")
    }
  }

  /// The words to start: `command` split, placeholders replaced; with `shell`, `/bin/sh -c TEXT`.
  func words(parameters: Parameters, seed: UInt64) throws -> [String] {
    var values: [String: String] = ["seed": String(seed)]
    for (name, value) in parameters where !CommandExperiment.ownParameters.contains(name) {
      values[name] = Self.text(value)
    }
    if usesShell {
      let text = try Self.substitute(command, values.mapValues(Self.shellQuoted))
      return ["/bin/sh", "-c", text]
    }
    let words = try Self.split(command)
    return try words.map { try Self.substitute($0, values) }
  }

  /// The files that make the program's identity, as given (relative to `directory` or absolute);
  /// a folder in `files` stands for every file under it, in name order, leaving out hidden ones
  /// and `__pycache__` (which running Python writes there).
  func fileList(parameters: Parameters) -> [String] {
    if !files.isEmpty {
      return files.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter {
        !$0.isEmpty
      }.flatMap { entry -> [String] in
        guard isDirectory(path(entry)) else { return [entry] }
        return filesUnder(entry)
      }
    }
    guard let words = try? Self.split(command) else { return [] }
    return words.filter { word in
      !word.contains("{") && FileManager.default.fileExists(atPath: path(word)) && !isDirectory(path(word))
    }
  }

  /// The files under the folder `entry` (as given), as paths that start with it, sorted.
  private func filesUnder(_ entry: String) -> [String] {
    let base = entry.hasSuffix("/") ? String(entry.dropLast()) : entry
    var found: [String] = []
    guard let walker = FileManager.default.enumerator(atPath: path(base)) else { return [] }
    while let relative = walker.nextObject() as? String {
      let name = relative.split(separator: "/").last.map(String.init) ?? relative
      if name.hasPrefix(".") || name == "__pycache__" {
        if isDirectory(path(base + "/" + relative)) { walker.skipDescendants() }
        continue
      }
      if !isDirectory(path(base + "/" + relative)) { found.append(base + "/" + relative) }
    }
    return found.sorted()
  }

  /// The program's files as a ``ProgramBundle``: each one's name (as given) and content.
  func bundle(parameters: Parameters) throws -> [UInt8] {
    try ProgramBundle.encode(
      fileList(parameters: parameters).map { file in
        guard let data = FileManager.default.contents(atPath: path(file)) else {
          throw ExperimentError(message: "command: cannot read \(path(file)) (one of the program's files)")
        }
        return (file, Array(data))
      })
  }

  /// The SHA-256 of the program's ``bundle(parameters:)``.
  func programHash(parameters: Parameters) throws -> String {
    SHA256.hexString(SHA256.digest(try bundle(parameters: parameters)))
  }

  private func path(_ file: String) -> String {
    file.hasPrefix("/") || directory.isEmpty ? file : directory + "/" + file
  }

  private func isDirectory(_ path: String) -> Bool {
    var isDirectory: ObjCBool = false
    return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && isDirectory.boolValue
  }

  /// A parameter's value as one word: `0.1`, `200`, `true`, `sgd`.
  static func text(_ value: ParameterValue) -> String {
    switch value {
    case .int(let n): String(n)
    case .double(let x): String(x)
    case .string(let s): s
    case .bool(let b): String(b)
    }
  }

  /// `text` with `{name}` replaced by `values[name]`; `{{` and `}}` are literal braces.
  public static func substitute(_ text: String, _ values: [String: String]) throws -> String {
    var out = ""
    var index = text.startIndex
    while index < text.endIndex {
      let character = text[index]
      let next = text.index(after: index)
      if character == "{" && next < text.endIndex && text[next] == "{" {
        out.append("{")
        index = text.index(after: next)
      } else if character == "}" && next < text.endIndex && text[next] == "}" {
        out.append("}")
        index = text.index(after: next)
      } else if character == "{" {
        guard let close = text[next...].firstIndex(of: "}") else {
          throw ExperimentError(message: "command: '{' without '}' in \(text)")
        }
        let name = String(text[next..<close])
        guard let value = values[name] else {
          throw ExperimentError(
            message:
              "command: {\(name)} is not a parameter of this run (it has \(values.keys.sorted().joined(separator: ", ")))"
          )
        }
        out += value
        index = text.index(after: close)
      } else {
        out.append(character)
        index = next
      }
    }
    return out
  }

  /// `text` split into words as a POSIX shell splits them, without expanding anything: blanks
  /// separate, '...' and "..." group (in "...", a backslash escapes " and \), a backslash outside
  /// quotes escapes the next character.
  public static func split(_ text: String) throws -> [String] {
    var words: [String] = []
    var word = ""
    var inWord = false
    var quote: Character?
    var escaped = false
    for character in text {
      if escaped {
        word.append(character)
        escaped = false
      } else if let q = quote {
        if character == q {
          quote = nil
        } else if character == "\\" && q == "\"" {
          escaped = true
        } else {
          word.append(character)
        }
      } else if character == "'" || character == "\"" {
        quote = character
        inWord = true
      } else if character == "\\" {
        escaped = true
        inWord = true
      } else if character == " " || character == "\t" || character == "\n" {
        if inWord { words.append(word) }
        word = ""
        inWord = false
      } else {
        word.append(character)
        inWord = true
      }
    }
    if quote != nil || escaped {
      throw ExperimentError(message: "command: unclosed quote or trailing \\ in \(text)")
    }
    if inWord { words.append(word) }
    return words
  }

  /// `text` as one word for /bin/sh: in single quotes, each ' written '\''.
  static func shellQuoted(_ text: String) -> String {
    "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'"
  }
}
