import SweepModel

/// An experiment family a worker can run: its parameters and a pure `run`.
///
/// `run` is a pure function of (parameters, seed): the same inputs give bit-identical outcomes on
/// any worker of the same build and machine type.
public protocol Experiment: Sendable {
  /// The family's name, its parameters with defaults, and what it reports.
  static var descriptor: ExperimentDescriptor { get }
  /// Runs one trial. `parameters` have been validated against ``descriptor`` and completed with defaults.
  static func run(parameters: Parameters, seed: UInt64) throws -> Outcome
  /// Checks what one parameter alone cannot (`tail_examples` at most `examples_per_task`), before
  /// anything runs. `parameters` are complete. Throws ``ExperimentError`` saying what to change.
  static func validate(parameters: Parameters) throws
  /// The parameters runs are keyed and run with: `parameters` (complete and valid) with what the
  /// coordinator settles once for every worker filled in, such as the hash of a dataset, so that a
  /// worker whose copy differs refuses the run rather than computing another one. The default
  /// returns `parameters` unchanged.
  static func resolve(parameters: Parameters) throws -> Parameters
  /// The scalar metrics a run with these (complete, valid) parameters reports: some of
  /// ``ExperimentDescriptor/metrics``, in its order. A sweep may only ask for metrics that at least
  /// one of its runs reports. The default is all of the descriptor's.
  static func metrics(for parameters: Parameters) -> [String]
  /// The series a run with these (complete, valid) parameters reports, with at least one point:
  /// some of ``ExperimentDescriptor/series``, in its order. The default is all of the descriptor's.
  static func series(for parameters: Parameters) -> [String]
  /// Runs at most `maxSteps` steps of a chained run (0: the whole rest of it), from `checkpoint`
  /// (nil: from the start), and returns the outcome when the run is complete or a checkpoint to
  /// continue from. A run done in any segments is bit-identical to `run`. The default, for
  /// experiments that cannot be chained, ignores `maxSteps` and the checkpoint and calls `run`.
  static func runSegment(parameters: Parameters, seed: UInt64, checkpoint: [UInt8]?, maxSteps: Int) throws
    -> SegmentOutcome
  /// Runs one trial that consumes artifacts of other runs (a stage of a sweep graph): `inputs`
  /// holds the bytes of every artifact its ``ParameterDescriptor/Kind/artifact(isList:)``
  /// parameters name, verified against their hashes. The default ignores them and calls `run`.
  static func run(parameters: Parameters, seed: UInt64, inputs: ArtifactInputs) throws -> Outcome
  /// Runs one segment of a chained run that consumes artifacts (meta-training from a pretrained
  /// network): as ``runSegment(parameters:seed:checkpoint:maxSteps:)``, with `inputs` as
  /// ``run(parameters:seed:inputs:)`` gets them. The default runs a run without inputs in
  /// segments and one with inputs whole.
  static func runSegment(
    parameters: Parameters, seed: UInt64, inputs: ArtifactInputs, checkpoint: [UInt8]?, maxSteps: Int
  ) throws -> SegmentOutcome
  /// `parameters` as written in the sweep file at `sweepFile`, with what depends on where that file
  /// is filled in (a user's program's folder). The default returns them unchanged.
  static func placed(_ parameters: Parameters, sweepFile: String) -> Parameters
  /// What the coordinator puts in its artifact store for the workers of a run with these
  /// (resolved) parameters to fetch, besides other runs' artifacts (a user's program's files,
  /// shipped to workers without a shared filesystem); their SHA-256 are among the run's input
  /// hashes, and the run gets their bytes in its ``ArtifactInputs``. The default ships nothing.
  static func shippedFiles(parameters: Parameters) throws -> [[UInt8]]
  /// The SHA-256 of what ``shippedFiles(parameters:)`` ships, without reading it. Default none.
  static func shippedHashes(parameters: Parameters) -> [String]
}

extension Experiment {
  public static func placed(_ parameters: Parameters, sweepFile: String) -> Parameters { parameters }

  public static func shippedFiles(parameters: Parameters) throws -> [[UInt8]] { [] }

  public static func shippedHashes(parameters: Parameters) -> [String] { [] }

  /// Not chainable: the whole run in one segment.
  public static func runSegment(parameters: Parameters, seed: UInt64, checkpoint: [UInt8]?, maxSteps: Int)
    throws
    -> SegmentOutcome
  {
    .finished(try run(parameters: parameters, seed: seed))
  }

  /// Without inputs, segments as ``runSegment(parameters:seed:checkpoint:maxSteps:)`` runs them;
  /// with inputs, the whole run.
  public static func runSegment(
    parameters: Parameters, seed: UInt64, inputs: ArtifactInputs, checkpoint: [UInt8]?, maxSteps: Int
  ) throws -> SegmentOutcome {
    if descriptor.inputParameters.isEmpty {
      return try runSegment(parameters: parameters, seed: seed, checkpoint: checkpoint, maxSteps: maxSteps)
    }
    return .finished(try run(parameters: parameters, seed: seed, inputs: inputs))
  }

  /// No inputs to read: the trial as ``run(parameters:seed:)`` runs it.
  public static func run(parameters: Parameters, seed: UInt64, inputs: ArtifactInputs) throws -> Outcome {
    try run(parameters: parameters, seed: seed)
  }

  /// No constraints between parameters.
  public static func validate(parameters: Parameters) throws {}

  /// Nothing to settle: `parameters` as they are.
  public static func resolve(parameters: Parameters) throws -> Parameters { parameters }

  /// Every metric of the descriptor, whatever the parameters.
  public static func metrics(for parameters: Parameters) -> [String] { descriptor.metrics }

  /// Every series of the descriptor, whatever the parameters.
  public static func series(for parameters: Parameters) -> [String] { descriptor.series }
}

/// What an experiment family accepts and reports.
public struct ExperimentDescriptor: Sendable {
  /// The name used in sweep files (`experiment: geoff`).
  public var name: String
  /// One sentence for `metasweep experiments`.
  public var summary: String
  /// Every parameter, in the order `metasweep experiments` lists them.
  public var parameters: [ParameterDescriptor]
  /// Scalar metrics runs report, in order (a run may report only some: ``Experiment/metrics(for:)``).
  public var metrics: [String]
  /// Series runs report, in order (a run may report only some: ``Experiment/series(for:)``).
  public var series: [String]
  /// What the x of every series counts, for figure axes (`examples`). Default "step".
  public var seriesXLabel: String
  /// What the x of some series counts, where it is not ``seriesXLabel`` (a family whose series
  /// count different things). Default none.
  public var seriesXLabels: [String: String]
  /// Maps of points a run may report (a t-SNE of hidden activations), each as the series
  /// `<name>_x`, `<name>_y` and `<name>_label` indexed by point. Reports draw them run by run and
  /// never average them, so they are not among ``series``.
  public var pointMaps: [String]
  /// The artifacts its runs make (`network`), which stages of a sweep graph may consume.
  public var artifacts: [String]
  /// Which way its metrics are better, by name without a task or stage index (`error` for
  /// `error_task1`); metrics without one (a drift, a step count) are absent. Default none.
  public var metricDirections: [String: MetricDirection] = [:]
  /// What each series measures, for figure titles and y axes (`error` is "squared error per
  /// example, mean of each bin"); a series without one is titled by its name. Default none.
  public var seriesTitles: [String: String] = [:]
  /// Where a run's tasks switch, in the series' x, for dashed lines in figures; nil when the
  /// family has no tasks. Default nil.
  public var taskSwitches: (@Sendable (Parameters) -> [Double])?
  /// Whether a sweep may set parameters the family does not declare, passed on to the run as they
  /// are (a user's program's own parameters). Default false: an unknown parameter is an error.
  public var acceptsOtherParameters = false
  /// Series whose x is a category index (0, 1, ...) rather than a quantity, with each category's
  /// name: figures draw them as bars labelled by name. Default none.
  public var seriesCategories: [String: [String]] = [:]

  public init(
    name: String, summary: String, parameters: [ParameterDescriptor], metrics: [String], series: [String],
    seriesXLabel: String = "step", seriesXLabels: [String: String] = [:], pointMaps: [String] = [],
    artifacts: [String] = []
  ) {
    self.seriesXLabels = seriesXLabels
    self.artifacts = artifacts
    self.seriesXLabel = seriesXLabel
    self.pointMaps = pointMaps
    self.name = name
    self.summary = summary
    self.parameters = parameters
    self.metrics = metrics
    self.series = series
  }

  /// This descriptor with `titles` as its ``seriesTitles``, `switches` as its ``taskSwitches`` and
  /// `categories` as its ``seriesCategories``.
  public func withFigures(
    titles: [String: String], taskSwitches switches: (@Sendable (Parameters) -> [Double])? = nil,
    categories: [String: [String]] = [:]
  ) -> ExperimentDescriptor {
    var copy = self
    copy.seriesTitles = titles
    copy.taskSwitches = switches
    copy.seriesCategories = categories
    return copy
  }

  /// Multiples of `parameters[length]` (examples or iterations per task) before the last of
  /// `parameters[count]` tasks: where tasks switch, when both are integers.
  public static func switches(every length: String, tasks count: String, _ parameters: Parameters) -> [Double]
  {
    guard case .int(let n) = parameters[length], case .int(let k) = parameters[count], k > 1 else {
      return []
    }
    return (1..<k).map { Double($0 * n) }
  }

  /// This descriptor with `directions` as its ``metricDirections``.
  public func withMetricDirections(_ directions: [String: MetricDirection]) -> ExperimentDescriptor {
    var copy = self
    copy.metricDirections = directions
    return copy
  }

  /// The descriptor of the parameter called `name`.
  public func parameter(_ name: String) -> ParameterDescriptor? { parameters.first { $0.name == name } }

  /// The parameters that take other runs' artifacts, which only a sweep graph's `inputs` can set.
  public var inputParameters: [ParameterDescriptor] {
    parameters.filter { if case .artifact = $0.kind { true } else { false } }
  }
}

/// One parameter of an experiment family: its type, allowed values, default and meaning.
public struct ParameterDescriptor: Sendable {
  /// What values a parameter accepts.
  public enum Kind: Sendable {
    /// A whole number in the closed range.
    case int(ClosedRange<Int>)
    /// A finite real number in the closed range (an integer literal is accepted and widened).
    case double(ClosedRange<Double>)
    /// One of the listed words.
    case choice([String])
    /// `true` or `false`.
    case bool
    /// Any string (a path, a hash); the family's checks say which are acceptable.
    case text
    /// The SHA-256 of another run's artifact (a list of them, comma-separated, with `isList`), set
    /// by a sweep graph's `inputs`; the run gets the bytes in its ``ArtifactInputs``.
    case artifact(isList: Bool)
  }

  public var name: String
  public var kind: Kind
  public var defaultValue: ParameterValue
  /// What the parameter does, for `metasweep experiments`.
  public var doc: String
  /// Whether run keys hold the parameter at its default value (true). A parameter added to a
  /// family after runs of it were journaled is false: left at its default, it stays out of the
  /// completed parameters, so the runs journaled before it existed keep their keys.
  public var isKeyedAtDefault = true
  /// Whether a graph stage may leave this artifact input unbound (false): its runs then get no
  /// bytes for it (a baseline of an evaluation that only the meta-learned method needs it for).
  public var isOptionalInput = false

  public init(_ name: String, _ kind: Kind, default defaultValue: ParameterValue, _ doc: String) {
    self.name = name
    self.kind = kind
    self.defaultValue = defaultValue
    self.doc = doc
  }
}
