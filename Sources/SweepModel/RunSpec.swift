/// One run of a sweep: an experiment with fully resolved parameters and one seed.
public struct RunSpec: Sendable, Equatable {
  /// Position in the sweep's expansion order (variant-major, then seed); used for stable tables.
  public var ordinal: Int
  /// The experiment family (`geoff`).
  public var experiment: String { didSet { storedKey = nil } }
  /// The variant's display name from the sweep file (`crossprop-eta0.5`); not part of the key.
  public var variant: String
  /// Every parameter of the run: the sweep's fixed ones overlaid with the variant's.
  public var parameters: Parameters { didSet { storedKey = nil } }
  /// The run's root seed.
  public var seed: UInt64 { didSet { storedKey = nil } }
  /// The SHA-256 of every artifact the run consumes (a sweep graph's inputs, which its parameters
  /// name too): the dispatcher prefers workers that hold them. Not part of the key or of equality.
  public var inputs: [String] = []
  /// The key this run was stored under, while the three fields above are as they were read.
  private var storedKey: RunKey?

  public init(ordinal: Int, experiment: String, variant: String, parameters: Parameters, seed: UInt64) {
    self.ordinal = ordinal
    self.experiment = experiment
    self.variant = variant
    self.parameters = parameters
    self.seed = seed
  }

  /// A run read back from where it was stored under `storedKey`, its key when it was written (a
  /// journal row): ``key`` returns it instead of hashing again, until a field of the key changes.
  public init(
    ordinal: Int, experiment: String, variant: String, parameters: Parameters, seed: UInt64, storedKey: RunKey
  ) {
    self.init(ordinal: ordinal, experiment: experiment, variant: variant, parameters: parameters, seed: seed)
    self.storedKey = storedKey
  }

  /// The content hash that identifies this run.
  public var key: RunKey { storedKey ?? RunKey(experiment: experiment, parameters: parameters, seed: seed) }

  public static func == (a: RunSpec, b: RunSpec) -> Bool {
    a.ordinal == b.ordinal && a.experiment == b.experiment && a.variant == b.variant
      && a.parameters == b.parameters && a.seed == b.seed
  }
}
