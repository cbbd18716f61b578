/// A sweep graph: stages, each a sweep, whose runs may consume the artifacts earlier stages' runs make.
///
/// ```yaml
/// name: image-pool
/// stages:
///   pretrain:                      # a pool: one trained network per seed
///     experiment: image-pretrain
///     seeds: 0..<9
///     held_out: [8]                # pool members kept apart (reported apart downstream)
///   finetune:
///     experiment: image-finetune
///     inputs:                      # parameter: where its artifact comes from
///       network: {stage: pretrain, artifact: network, select: each}
///     variants: {sgd: {method: sgd}, frozen: {method: frozen}}
/// ```
///
/// Selectors (`select:`), for a stage P with members (runs) of seeds s:
/// - `each`: one run per member of P, with the member's seed (the stage lists no seeds);
/// - `same-seed`: the stage's own seeds, each run taking the member of P with its seed;
/// - `member: k` (instead of `select`): every run takes the member with seed k;
/// - `all-but-held-out`: every run takes the list of P's members not in its `held_out`, in seed order;
/// - `held-out`: every run takes the list of P's held-out members.
///
/// The graph owns only the shape: which stage feeds which, in which order they can run. What each
/// run is (its parameters, its key once its inputs exist) is ``GraphPlan``'s.
public struct SweepGraph: Sendable, Equatable {
  /// The graph's name; results go to `results/<name>/` by default.
  public var name: String
  /// The stages, producers before their consumers (file order where the file allows).
  public var stages: [Stage]
  /// The file the graph was read from, for messages.
  public var file: String
  /// The command-line overrides applied (`stages.pretrain.seeds=0..<4`), in order.
  public var overrides: [String] = []

  public init(name: String, stages: [Stage], file: String) {
    self.name = name
    self.stages = stages
    self.file = file
  }

  /// One stage: a sweep, the inputs its runs consume, and the members it holds out.
  public struct Stage: Sendable, Equatable {
    /// The stage's name (`pretrain`); also its sweep's name.
    public var name: String
    /// Its experiment, parameters, variants and seeds (seeds empty until an `each` input fills them).
    public var sweep: SweepSpec
    /// The parameters its runs take from other stages' artifacts.
    public var inputs: [Input]
    /// Seeds of its members that `all-but-held-out` leaves out and `held-out` selects.
    public var heldOut: [UInt64]

    public init(name: String, sweep: SweepSpec, inputs: [Input] = [], heldOut: [UInt64] = []) {
      self.name = name
      self.sweep = sweep
      self.inputs = inputs
      self.heldOut = heldOut
    }
  }

  /// One input parameter of a stage's runs and where its artifact comes from.
  public struct Input: Sendable, Equatable {
    /// The consuming experiment's parameter that receives the artifact's SHA-256 (comma-separated
    /// for a list).
    public var parameter: String
    /// The producing stage.
    public var stage: String
    /// The artifact's name in the producing runs' outcomes (`network`).
    public var artifact: String
    /// Which of the producing stage's members.
    public var selector: Selector
    /// The producing stage's variant, when it has more than one.
    public var variant: String?

    public init(
      parameter: String, stage: String, artifact: String, selector: Selector, variant: String? = nil
    ) {
      self.parameter = parameter
      self.stage = stage
      self.artifact = artifact
      self.selector = selector
      self.variant = variant
    }
  }

  /// Which members of a producing stage an input takes.
  public enum Selector: Sendable, Equatable, CustomStringConvertible {
    /// One consumer run per member, with its seed.
    case each
    /// The member whose seed is the consumer run's seed.
    case sameSeed
    /// The member with this seed, for every consumer run.
    case member(UInt64)
    /// Every member not held out, as a list in seed order.
    case allButHeldOut
    /// Every held-out member, as a list in seed order.
    case heldOut

    /// Whether the input is a list of artifacts rather than one.
    public var isList: Bool {
      switch self {
      case .allButHeldOut, .heldOut: true
      case .each, .sameSeed, .member: false
      }
    }

    public var description: String {
      switch self {
      case .each: "each"
      case .sameSeed: "same-seed"
      case .member(let seed): "member \(seed)"
      case .allButHeldOut: "all-but-held-out"
      case .heldOut: "held-out"
      }
    }
  }

  /// The stage called `name`.
  public func stage(_ name: String) -> Stage? { stages.first { $0.name == name } }

  /// The error for the field at `path` of `stage` (`inputs.network.stage`), named in full
  /// (`stages.finetune.inputs.network.stage`) and located where the file set it.
  public func error(in stage: Stage, at path: String, _ message: String) -> SpecError {
    SpecError(
      file: file, location: stage.sweep.locations[path] ?? stage.sweep.locations[""],
      field: path.isEmpty ? "stages.\(stage.name)" : "stages.\(stage.name).\(path)", message: message)
  }
}
