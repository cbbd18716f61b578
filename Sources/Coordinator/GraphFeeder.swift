import SweepModel

/// Feeds a sweep graph's runs to the coordinator: at the start, every run whose inputs the journal
/// already holds; then, after each journaled outcome of a producing run, the consumers it completes.
///
/// It owns the plan's ``GraphPlan/Resolver`` and what it knows of journaled outcomes (each finished
/// run's artifacts by name); it never touches the journal or a socket. Guarantees:
/// - a run is handed over once, in slot order, as soon as the last of its inputs is journaled;
/// - a run the journal finished before (an unchanged upstream) is handed over as `done` (or
///   `failed`), never to run again, and the runs it feeds follow in the same pass;
/// - an outcome makes the feeder look only at the slots downstream of its run's.
public final class GraphFeeder: RunFeeder {
  private var resolver: GraphPlan.Resolver
  /// Artifacts (name to SHA-256) of every finished run known, journaled or accepted since.
  private var artifacts: [RunKey: [String: String]]
  /// Runs the journal holds as failed for good.
  private let failed: Set<RunKey>

  /// A feeder for `plan`, given the journal's finished runs (each with its artifacts) and failed ones.
  public init(plan: GraphPlan, finished: [RunKey: [String: String]], failed: Set<RunKey>) {
    resolver = GraphPlan.Resolver(plan: plan)
    artifacts = finished
    self.failed = failed
  }

  /// Every run resolvable from the journal as it stands, in slot order.
  public func initialRuns() -> [RunSpec] { resolveNew() }

  /// Slots the plan has that no run stands for yet (their inputs do not exist).
  public var waitingCount: Int { resolver.plan.slots.count - resolver.resolvedCount }

  public func runs(after key: RunKey, artifacts made: [String: String]) -> (
    pending: [RunSpec], done: [RunSpec], failed: [RunSpec]
  ) {
    artifacts[key] = made
    var out: (pending: [RunSpec], done: [RunSpec], failed: [RunSpec]) = ([], [], [])
    for run in resolver.resolveNew(after: key, artifacts: { [artifacts] in artifacts[$0] }) {
      let runKey = run.key
      if artifacts[runKey] != nil {
        out.done.append(run)
      } else if failed.contains(runKey) {
        out.failed.append(run)
      } else {
        out.pending.append(run)
      }
    }
    return out
  }

  private func resolveNew() -> [RunSpec] {
    resolver.resolveNew { [artifacts] key in artifacts[key] }
  }
}
