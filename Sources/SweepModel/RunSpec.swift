/// One run of a sweep: an experiment with fully resolved parameters and one seed.
public struct RunSpec: Sendable, Equatable {
  /// Position in the sweep's expansion order (variant-major, then seed); used for stable tables.
  public var ordinal: Int
  /// The experiment family (`geoff`).
  public var experiment: String
  /// The variant's display name from the sweep file (`crossprop-eta0.5`); not part of the key.
  public var variant: String
  /// Every parameter of the run: the sweep's fixed ones overlaid with the variant's.
  public var parameters: Parameters
  /// The run's root seed.
  public var seed: UInt64

  public init(ordinal: Int, experiment: String, variant: String, parameters: Parameters, seed: UInt64) {
    self.ordinal = ordinal
    self.experiment = experiment
    self.variant = variant
    self.parameters = parameters
    self.seed = seed
  }

  /// The content hash that identifies this run.
  public var key: RunKey { RunKey(experiment: experiment, parameters: parameters, seed: seed) }
}
