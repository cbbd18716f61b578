/// Every run a sweep graph will have, as slots, and the runs those slots become once their inputs exist.
///
/// A slot is a run whose parameters are final except for its inputs: those hold the SHA-256 of
/// artifacts of earlier slots' runs (its producers), known only when they are journaled. The plan
/// owns the slots and their producers; it never touches a journal or a socket: whoever serves the
/// graph says which runs have which artifacts, and the plan says which runs that makes ready.
///
/// Guarantees, which tests check one by one:
/// - slots are numbered stage by stage (in the graph's order), then variant-major, then by seed: a
///   slot's number is its run's ordinal, whichever runs exist yet;
/// - a slot's producers all come before it, so one pass in slot order resolves every slot whose
///   inputs exist (``Resolver``);
/// - a slot's run key hashes its inputs' artifact hashes (they are parameters), so a changed
///   upstream artifact makes a new run downstream and an unchanged one reuses the journaled run;
/// - a slot whose producer failed for good, or made no artifact of the name, never resolves.
public struct GraphPlan: Sendable {
  /// One run of the graph, its inputs not yet filled in.
  public struct Slot: Sendable {
    /// The index of its stage in ``SweepGraph/stages``.
    public var stage: Int
    /// The run with every parameter but its inputs final (they hold ``placeholder``); its ordinal is
    /// the slot's number, its variant `stage/variant`, with ` (held-out)` for a held-out member.
    public var template: RunSpec
    /// Where each input comes from.
    public var bindings: [Binding]
  }

  /// One input of a slot: the producing slots (one, or a list in seed order) and the artifact.
  public struct Binding: Sendable {
    public var parameter: String
    public var artifact: String
    public var producers: [Int]
  }

  /// What an input parameter holds before its artifacts exist: 64 zeros (not a hash of anything
  /// real), so the experiment's checks can run on the slot's parameters.
  public static let placeholder = String(repeating: "0", count: 64)

  public private(set) var graph: SweepGraph
  public let slots: [Slot]
  /// The slots of each stage, in graph order.
  public let stageSlots: [Range<Int>]

  /// The plan of `graph`, given each stage's runs as its sweep expands them (variant-major, then
  /// seed), their parameters completed and input parameters set to ``placeholder``.
  /// Changes what the report shows of each stage (`baseline`, `intervals`): settings no run and
  /// nothing else of the plan depends on.
  public mutating func updateReportSettings(_ update: (inout SweepSpec) -> Void) {
    for i in graph.stages.indices {
      var sweep = graph.stages[i].sweep
      update(&sweep)
      graph.stages[i].sweep.baseline = sweep.baseline
      graph.stages[i].sweep.intervals = sweep.intervals
    }
  }

  public init(graph: SweepGraph, stageRuns: [[RunSpec]]) {
    self.graph = graph
    var slots: [Slot] = []
    var ranges: [Range<Int>] = []
    /// (stage, variant, seed) -> slot, for binding consumers to producers.
    var index: [String: [String: [UInt64: Int]]] = [:]
    for (stageIndex, stage) in graph.stages.enumerated() {
      let start = slots.count
      for run in stageRuns[stageIndex] {
        var template = run
        template.ordinal = slots.count
        var bindings: [Binding] = []
        var isHeldOut = stage.heldOut.contains(run.seed)
        for input in stage.inputs {
          guard let producer = graph.stage(input.stage) else { continue }
          let variant = input.variant ?? producer.sweep.variants.first?.name ?? ""
          let members = index[producer.name]?[variant] ?? [:]
          let seeds: [UInt64]
          switch input.selector {
          case .each, .sameSeed:
            seeds = [run.seed]
            if producer.heldOut.contains(run.seed) { isHeldOut = true }
          case .member(let seed): seeds = [seed]
          case .allButHeldOut: seeds = producer.sweep.seeds.filter { !producer.heldOut.contains($0) }
          case .heldOut: seeds = producer.sweep.seeds.filter(producer.heldOut.contains)
          }
          bindings.append(
            Binding(
              parameter: input.parameter, artifact: input.artifact,
              producers: seeds.compactMap { members[$0] }))
        }
        template.variant = "\(stage.name)/\(run.variant)" + (isHeldOut ? Self.heldOutSuffix : "")
        index[stage.name, default: [:]][run.variant, default: [:]][run.seed] = slots.count
        slots.append(Slot(stage: stageIndex, template: template, bindings: bindings))
      }
      ranges.append(start..<slots.count)
    }
    self.slots = slots
    self.stageSlots = ranges
  }

  /// The suffix of the variant of a run of (or on) a held-out member.
  public static let heldOutSuffix = " (held-out)"

  /// The stage of a run of this plan, by its variant (`stage/variant`), or nil for another run.
  public func stageIndex(ofVariant variant: String) -> Int? {
    guard let slash = variant.firstIndex(of: "/") else { return nil }
    let name = variant[..<slash]
    return graph.stages.firstIndex { $0.name == name }
  }

  /// Turns slots into runs as their producers' artifacts become known.
  public struct Resolver: Sendable {
    public let plan: GraphPlan
    /// The key of each resolved slot's run.
    public private(set) var keys: [RunKey?]
    /// Slots resolved so far.
    public private(set) var resolvedCount = 0
    /// The slots each slot feeds, in slot order.
    private let consumers: [[Int]]
    /// The slot of each resolved run.
    private var slotOfKey: [RunKey: Int] = [:]

    public init(plan: GraphPlan) {
      self.plan = plan
      keys = Array(repeating: nil, count: plan.slots.count)
      var consumers = Array(repeating: [Int](), count: plan.slots.count)
      for (number, slot) in plan.slots.enumerated() {
        for producer in Set(slot.bindings.flatMap(\.producers)) { consumers[producer].append(number) }
      }
      self.consumers = consumers
    }

    /// The runs of slots that were not resolved before and are now: every input's producers have
    /// runs and `artifacts` names the artifact for each (`artifacts(key)` is the artifacts, by
    /// name to SHA-256, of a finished run, or nil while it has none). In slot order; one pass over
    /// every slot (at the start).
    public mutating func resolveNew(artifacts: (RunKey) -> [String: String]?) -> [RunSpec] {
      var out: [RunSpec] = []
      for number in plan.slots.indices where keys[number] == nil {
        if let run = resolve(number, artifacts: artifacts) { out.append(run) }
      }
      return out
    }

    /// The runs that the artifacts of run `key` (just known through `artifacts`) make ready, and
    /// those that runs among them which are finished already make ready in turn; in slot order.
    /// Only the slots downstream of `key`'s are looked at.
    public mutating func resolveNew(after key: RunKey, artifacts: (RunKey) -> [String: String]?) -> [RunSpec]
    {
      guard let slot = slotOfKey[key] else { return [] }
      // Consumers come after their producers, so taking the lowest candidate first visits every
      // slot after all of its producers that can resolve have.
      var candidates = Set(consumers[slot])
      var out: [RunSpec] = []
      while let number = candidates.min() {
        candidates.remove(number)
        guard keys[number] == nil, let run = resolve(number, artifacts: artifacts) else { continue }
        out.append(run)
        if artifacts(run.key) != nil { candidates.formUnion(consumers[number]) }
      }
      return out
    }

    /// Slot `number`'s run, if every input exists; recorded as resolved.
    private mutating func resolve(_ number: Int, artifacts: (RunKey) -> [String: String]?) -> RunSpec? {
      let slot = plan.slots[number]
      var run = slot.template
      for binding in slot.bindings {
        var hashes: [String] = []
        for producer in binding.producers {
          guard let key = keys[producer], let hash = artifacts(key)?[binding.artifact] else { return nil }
          hashes.append(hash)
        }
        guard !hashes.isEmpty else { return nil }
        run.parameters[binding.parameter] = .string(hashes.joined(separator: ","))
        run.inputs += hashes
      }
      let key = run.key
      keys[number] = key
      slotOfKey[key] = number
      resolvedCount += 1
      // Keyed once: whoever looks at the run's key later (the feeder, the dispatcher, the journal)
      // reads this one instead of hashing again.
      var keyed = RunSpec(
        ordinal: run.ordinal, experiment: run.experiment, variant: run.variant, parameters: run.parameters,
        seed: run.seed, storedKey: key)
      keyed.inputs = run.inputs
      return keyed
    }
  }
}
