/// A sweep file, parsed and checked for shape (not yet against an experiment's parameters).
///
/// ```yaml
/// name: crossprop-geoff
/// experiment: geoff
/// seeds: 0..<30
/// fixed: {examples_per_task: 5000}
/// variants:
///   backprop: {algorithm: backprop}
///   crossprop-eta0.5: {algorithm: crossprop, eta: 0.5}
/// metrics: [error_task1, u_drift_task1]
/// curves: [error]
/// ```
public struct SweepSpec: Sendable, Equatable {
  /// The sweep's name; results go to `results/<name>/` by default.
  public var name: String
  /// The experiment family every run belongs to.
  public var experiment: String
  /// Root seeds, in the order given.
  public var seeds: [UInt64]
  /// Parameters shared by every variant.
  public var fixed: Parameters
  /// Variants in file order, each a name and the parameters it overrides.
  public var variants: [Variant]
  /// Scalar metrics to tabulate (empty: every metric the experiment reports).
  public var metrics: [String]
  /// Series to average into curves and figures (empty: every series the experiment reports).
  public var curves: [String]
  /// Meta-steps per segment of a chained run (nil: every run in one piece). Not part of any run
  /// key: a chained run's results are bit-identical whatever the segment length.
  public var segmentSteps: Int?
  /// Where each field came from, keyed by its dotted path (`variants.adam.step_size`), and where
  /// each name in `metrics` and `curves` was written (`metrics.error_task1`).
  public var locations: [String: SourceLocation]
  /// The file the spec was read from, for messages.
  public var file: String
  /// The variant every other is compared with, seed by seed, in the report (nil: none).
  public var baseline: String?
  /// Whether the report's summary shows 95% confidence intervals.
  public var intervals = false
  /// The command-line overrides applied (`fixed.step_size=0.001`), in order (see ``SweepOverrides``).
  public var overrides: [String] = []
  /// The override that set each field the overrides set, by dotted path: problems with those
  /// fields name the override rather than a place in the file.
  public var overriddenFields: [String: String] = [:]
  /// Fields of generated variants and the fields of the file they came from
  /// (`variants.eta=0.5.eta` is `grid.eta`), so problems name what the user wrote.
  public var fieldAliases: [String: String] = [:]

  public init(
    name: String, experiment: String, seeds: [UInt64], fixed: Parameters, variants: [Variant],
    metrics: [String], curves: [String], segmentSteps: Int? = nil, locations: [String: SourceLocation] = [:],
    file: String = "<memory>"
  ) {
    self.segmentSteps = segmentSteps
    self.name = name
    self.experiment = experiment
    self.seeds = seeds
    self.fixed = fixed
    self.variants = variants
    self.metrics = metrics
    self.curves = curves
    self.locations = locations
    self.file = file
  }

  /// One named variant: the parameters it sets on top of `fixed`.
  public struct Variant: Sendable, Equatable {
    public var name: String
    public var parameters: Parameters
    public init(name: String, parameters: Parameters) {
      self.name = name
      self.parameters = parameters
    }
  }

  /// The runs of the sweep, variant-major then seed, with `fixed` overlaid by each variant.
  public func expand() -> [RunSpec] {
    var runs: [RunSpec] = []
    runs.reserveCapacity(variants.count * seeds.count)
    for variant in variants {
      let parameters = fixed.merging(variant.parameters) { _, new in new }
      for seed in seeds {
        runs.append(
          RunSpec(
            ordinal: runs.count, experiment: experiment, variant: variant.name, parameters: parameters,
            seed: seed))
      }
    }
    return runs
  }

  /// Why `name` cannot be a baseline: it is none of `variants` (the first eight are listed).
  public static func notAVariant(_ name: String, variants: [String]) -> String {
    let listed = variants.prefix(8).map { "'\($0)'" }.joined(separator: ", ")
    return "'\(SpecReader.excerpt(name))' is not a variant of this sweep (variants: \(listed)"
      + (variants.count > 8 ? ", ..." : "") + ")"
  }

  /// The error for the field at `path`, located where the file set it (or at the file when unknown),
  /// or naming the override that set it.
  public func error(at path: String, _ message: String) -> SpecError {
    let field = fieldAliases[path] ?? path
    if let text = SweepOverrides.setter(of: field, in: overriddenFields) {
      return SpecError(file: "--set \(text)", location: nil, field: field, message: message)
    }
    return SpecError(
      file: file, location: locations[field] ?? locations[path], field: field, message: message)
  }
}

/// A place in a sweep file.
public struct SourceLocation: Sendable, Equatable {
  public var line: Int
  public var column: Int
  public init(line: Int, column: Int) {
    self.line = line
    self.column = column
  }
}

/// A sweep file that cannot be run: where, which field, and what to do.
public struct SpecError: Error, Sendable, Equatable, CustomStringConvertible {
  public var file: String
  public var location: SourceLocation?
  /// The dotted path of the field (`variants.adam.step_size`), or empty for the whole file.
  public var field: String
  public var message: String

  public init(file: String, location: SourceLocation?, field: String, message: String) {
    self.file = file
    self.location = location
    self.field = field
    self.message = message
  }

  /// One line: `sweep.yaml:12:5: variants.adam.step_size: must be positive, got -0.1`.
  public var description: String {
    var place = file
    if let location { place += ":\(location.line):\(location.column)" }
    return field.isEmpty ? "\(place): \(message)" : "\(place): \(field): \(message)"
  }
}
