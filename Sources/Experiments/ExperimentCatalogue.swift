import SweepModel

/// Every experiment family this build can run, and the checks a sweep passes before it runs.
public enum ExperimentCatalogue {
  /// The families, in the order `metasweep experiments` lists them.
  public static let all: [any Experiment.Type] = [
    GeoffExperiment.self, LSTMMetaLearningExperiment.self, NoopExperiment.self,
  ]

  /// The family called `name`.
  public static func family(named name: String) -> (any Experiment.Type)? {
    all.first { $0.descriptor.name == name }
  }

  /// Checks every parameter of `spec` against its family, and that no two variants make the same
  /// runs; returns the runs with their parameters completed with defaults (the form that is hashed
  /// into run keys).
  ///
  /// - Throws: ``SpecError`` naming the file, line and field of the first problem.
  public static func validate(_ spec: SweepSpec) throws -> [RunSpec] {
    guard let family = family(named: spec.experiment) else {
      let known = all.map { $0.descriptor.name }.joined(separator: ", ")
      throw spec.error(at: "experiment", "unknown experiment '\(spec.experiment)' (known: \(known))")
    }
    let descriptor = family.descriptor
    try check(spec.fixed, against: descriptor, spec: spec, prefix: "fixed")
    for variant in spec.variants {
      try check(variant.parameters, against: descriptor, spec: spec, prefix: "variants.\(variant.name)")
    }
    for metric in spec.metrics where !descriptor.metrics.contains(metric) {
      throw spec.error(
        at: "metrics",
        "unknown metric '\(metric)' (\(descriptor.name) reports \(descriptor.metrics.joined(separator: ", ")))"
      )
    }
    for curve in spec.curves where !descriptor.series.contains(curve) {
      throw spec.error(
        at: "curves",
        "unknown series '\(curve)' (\(descriptor.name) reports \(descriptor.series.joined(separator: ", ")))")
    }
    // Each variant's parameters are completed once; its runs share them.
    var variantParameters: [Parameters] = []
    var variantWith: [Parameters: String] = [:]
    for variant in spec.variants {
      let parameters = completed(
        spec.fixed.merging(variant.parameters) { _, new in new }, descriptor: descriptor)
      do {
        try family.validate(parameters: parameters)
      } catch {
        throw spec.error(at: "variants.\(variant.name)", "\(error)")
      }
      // Equal completed parameters make runs with equal keys. Values compare as numbers, so 0.0 and
      // -0.0 (different keys, the same runs in practice) count as equal too.
      if let first = variantWith[parameters] {
        throw duplicateError(variant.name, first: first, spec: spec)
      }
      variantWith[parameters] = variant.name
      variantParameters.append(parameters)
    }
    var runs = spec.expand()
    for index in runs.indices { runs[index].parameters = variantParameters[index / spec.seeds.count] }
    return runs
  }

  /// The error for variant `name`, whose completed parameters equal those of the earlier variant `first`.
  private static func duplicateError(_ name: String, first: String, spec: SweepSpec) -> SpecError {
    let place = spec.locations["variants.\(first)"].map { " (line \($0.line))" } ?? ""
    return spec.error(
      at: "variants.\(name)",
      "has the same parameters as variant '\(first)'\(place) once defaults are filled in, so its runs would "
        + "be the same runs; change a parameter or remove one of the two")
  }

  /// `parameters` with every missing parameter set to its default and integers widened where a
  /// double is expected, so equal runs hash equally however the file spelled them.
  public static func completed(_ parameters: Parameters, descriptor: ExperimentDescriptor) -> Parameters {
    var out = Parameters()
    for p in descriptor.parameters {
      let value = parameters[p.name] ?? p.defaultValue
      if case .double = p.kind, case .int(let n) = value {
        out[p.name] = .double(Double(n))
      } else {
        out[p.name] = value
      }
    }
    return out
  }

  /// Runs one trial of `experiment` in this process.
  public static func run(experiment: String, parameters: Parameters, seed: UInt64) throws -> Outcome {
    guard let family = family(named: experiment) else {
      throw ExperimentError(message: "This worker cannot run experiment '\(experiment)'.")
    }
    return try family.run(parameters: completed(parameters, descriptor: family.descriptor), seed: seed)
  }

  /// Runs one segment of a trial of `experiment` in this process (see ``Experiment/runSegment(parameters:seed:checkpoint:maxSteps:)``).
  public static func runSegment(
    experiment: String, parameters: Parameters, seed: UInt64, checkpoint: [UInt8]?, maxSteps: Int
  ) throws -> SegmentOutcome {
    guard let family = family(named: experiment) else {
      throw ExperimentError(message: "This worker cannot run experiment '\(experiment)'.")
    }
    return try family.runSegment(
      parameters: completed(parameters, descriptor: family.descriptor), seed: seed, checkpoint: checkpoint,
      maxSteps: maxSteps)
  }

  private static func check(
    _ parameters: Parameters, against descriptor: ExperimentDescriptor, spec: SweepSpec, prefix: String
  ) throws {
    for name in parameters.keys.sorted() {
      let path = "\(prefix).\(name)"
      guard let p = descriptor.parameter(name) else {
        let known = descriptor.parameters.map(\.name).joined(separator: ", ")
        throw spec.error(at: path, "unknown parameter '\(name)' for \(descriptor.name) (known: \(known))")
      }
      if let problem = p.problem(with: parameters[name]!) { throw spec.error(at: path, problem) }
    }
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
    case (.bool, .bool):
      return nil
    case (.int, _): return "must be a whole number, got \(value)"
    case (.choice(let words), _): return "must be one of \(words.joined(separator: ", ")), got \(value)"
    case (.bool, _): return "must be true or false, got \(value)"
    }
  }
}

/// A run that cannot be carried out; the message says why.
public struct ExperimentError: Error, Sendable, CustomStringConvertible {
  public var message: String
  public init(message: String) { self.message = message }
  public var description: String { message }
}
