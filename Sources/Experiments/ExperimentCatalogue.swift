import SweepModel

/// Every experiment family this build can run, and the checks a sweep passes before it runs
/// (ExperimentCatalogue+Validation.swift).
public enum ExperimentCatalogue {
  /// The families, in the order `metasweep experiments` lists them.
  public static let all: [any Experiment.Type] = [
    GeoffExperiment.self, CrosspropMNISTExperiment.self, ImagePretrainExperiment.self,
    ImageFinetuneExperiment.self, ConvNetPretrainExperiment.self, TeacherMetaTrainExperiment.self,
    TeacherEvaluateExperiment.self, PermutedContinualExperiment.self,
    LSTMMetaLearningExperiment.self, CommandExperiment.self,
    NoopExperiment.self, NoopDigestExperiment.self,
  ]

  /// The family called `name`.
  public static func family(named name: String) -> (any Experiment.Type)? {
    all.first { $0.descriptor.name == name }
  }

  /// `parameters` with every missing parameter set to its default and integers widened where a
  /// double is expected, so equal runs hash equally however the file spelled them. A parameter
  /// not keyed at its default (``ParameterDescriptor/isKeyedAtDefault``) is left out there.
  public static func completed(_ parameters: Parameters, descriptor: ExperimentDescriptor) -> Parameters {
    var out = Parameters()
    if descriptor.acceptsOtherParameters {
      for (name, value) in parameters where descriptor.parameter(name) == nil { out[name] = value }
    }
    for p in descriptor.parameters {
      var value = parameters[p.name] ?? p.defaultValue
      if case .double = p.kind, case .int(let n) = value { value = .double(Double(n)) }
      if !p.isKeyedAtDefault && value == p.defaultValue { continue }
      out[p.name] = value
    }
    return out
  }

  /// Runs one trial of `experiment` in this process.
  public static func run(experiment: String, parameters: Parameters, seed: UInt64) throws -> Outcome {
    guard let family = family(named: experiment) else {
      throw ExperimentError(message: "This worker cannot run experiment '\(experiment)'.")
    }
    return try checked(
      family.run(parameters: completed(parameters, descriptor: family.descriptor), seed: seed), experiment)
  }

  /// The SHA-256 of every artifact a run of `experiment` with `parameters` consumes, in parameter
  /// order (empty for an unknown experiment or one without inputs): what a worker must hold first.
  public static func inputHashes(experiment: String, parameters: Parameters) -> [String] {
    guard let family = family(named: experiment) else { return [] }
    return family.descriptor.inputParameters.flatMap { descriptor -> [String] in
      guard case .string(let text) = parameters[descriptor.name] else { return [] }
      return text.split(separator: ",").map(String.init)
    } + family.shippedHashes(parameters: parameters)
  }

  /// The SHA-256 of what the coordinator stores for the workers of a run of `experiment` to fetch.
  public static func shippedHashes(experiment: String, parameters: Parameters) -> [String] {
    family(named: experiment)?.shippedHashes(parameters: parameters) ?? []
  }

  /// What the coordinator stores for the workers of a run of `experiment` to fetch
  /// (``Experiment/shippedFiles(parameters:)``).
  public static func shippedFiles(experiment: String, parameters: Parameters) throws -> [[UInt8]] {
    guard let family = family(named: experiment) else { return [] }
    return try family.shippedFiles(parameters: parameters)
  }

  /// `outcome`, when its artifacts can travel and be stored (``Artifact/problem(with:)``).
  private static func checked(_ outcome: Outcome, _ experiment: String) throws -> Outcome {
    if let problem = Artifact.problem(with: outcome.artifacts) {
      throw ExperimentError(message: "Experiment '\(experiment)' made an unusable outcome: \(problem).")
    }
    return outcome
  }

  /// Runs one segment of a trial of `experiment` in this process (see
  /// ``Experiment/runSegment(parameters:seed:inputs:checkpoint:maxSteps:)``): a run with artifact
  /// inputs runs whole unless its family chains such runs.
  public static func runSegment(
    experiment: String, parameters: Parameters, seed: UInt64, checkpoint: [UInt8]?, maxSteps: Int,
    inputs: ArtifactInputs = ArtifactInputs()
  ) throws -> SegmentOutcome {
    guard let family = family(named: experiment) else {
      throw ExperimentError(message: "This worker cannot run experiment '\(experiment)'.")
    }
    let segment = try family.runSegment(
      parameters: completed(parameters, descriptor: family.descriptor), seed: seed, inputs: inputs,
      checkpoint: checkpoint, maxSteps: maxSteps)
    if case .finished(let outcome) = segment { return .finished(try checked(outcome, experiment)) }
    return segment
  }
}

extension ParameterDescriptor {
  /// Why `value` is not acceptable, or nil when it is.
  public func problem(with value: ParameterValue) -> String? {
    switch (kind, value) {
    case (.int(let range), .int(let n)):
      return range.contains(n) ? nil : "must be in \(range.lowerBound)...\(range.upperBound), got \(n)"
    case (.double(let range), _):
      guard let x = value.doubleValue, x.isFinite else { return "must be a number, got \(value)" }
      if range.contains(x) { return nil }
      if range.lowerBound == 0 && x < 0 { return "must not be negative, got \(value)" }
      if range.lowerBound > 0 && x <= 0 { return "must be positive, got \(value)" }
      return "must be in \(range.lowerBound)...\(range.upperBound), got \(value)"
    case (.choice(let words), .string(let s)):
      return words.contains(s) ? nil : "must be one of \(words.joined(separator: ", ")), got '\(s)'"
    case (.bool, .bool), (.text, .string):
      return nil
    case (.int, _): return "must be a whole number, got \(value)"
    case (.choice(let words), _): return "must be one of \(words.joined(separator: ", ")), got \(value)"
    case (.bool, _): return "must be true or false, got \(value)"
    case (.text, _): return "must be text (in quotes), got \(value)"
    case (.artifact(let isList), .string(let text)):
      if text.isEmpty && isOptionalInput { return nil }  // an optional input left unbound
      let hashes = text.split(separator: ",", omittingEmptySubsequences: false)
      guard hashes.allSatisfy(SHA256.isDigestHex),
        isList || hashes.count == 1
      else {
        return
          "takes another stage's artifact: bind it under the stage's inputs in a sweep graph (it holds "
          + (isList ? "SHA-256 hashes, comma-separated" : "one SHA-256") + ", got '\(text.prefix(80))')"
      }
      return nil
    case (.artifact, _):
      return "takes another stage's artifact: bind it under the stage's inputs in a sweep graph"
    }
  }
}

/// A run that cannot be carried out; the message says why.
public struct ExperimentError: Error, Sendable, CustomStringConvertible {
  public var message: String
  /// Whether the fault is this process's, not the run's: its copy of an input (a dataset) differs
  /// from the one the sweep pinned. A worker refuses such a run, and another worker may run it.
  public var isRefusal: Bool
  public init(message: String, isRefusal: Bool = false) {
    self.message = message
    self.isRefusal = isRefusal
  }
  public var description: String { message }
}
