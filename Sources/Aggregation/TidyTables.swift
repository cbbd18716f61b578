import SweepModel

/// Per-run data in long ("tidy") form, so that a pandas or R user needs no string parsing and no
/// blob decoding: `runs.csv` holds one row per run and metric, `curves/<series>.long.csv` one row
/// per run and point of a curve.
///
/// Columns of `runs.csv`: `run_key, variant, seed`, then every parameter of the sweep's runs (with
/// defaults filled in) in name order, then `metric`, the index columns its metrics have (`task`,
/// `stage`, `tau`: `error_task3` is metric `error` with task 3; `test_accuracy_stage1_task2` has a
/// stage and a task; a metric without one leaves the cell empty), and `value`. Columns of a long
/// curve: `variant, seed`, the parameters whose values differ between runs, `x`, `value` (the
/// parameters every run shares are in runs.csv, one join on variant and seed away, and would only
/// make the file many times longer). A parameter named like a fixed column gets the prefix
/// `param_`. Rows follow the table order (variants in the sweep's order, then seeds); numbers are in
/// their shortest round-tripping form, `NaN`, `inf` and `-inf` where not finite.
public enum TidyTables {
  /// The words of index columns, in column order. A metric name ending in `_<word><n>` or
  /// `_<word>_<n>` (repeatedly) has those indices.
  public static let indexWords = ["stage", "task", "tau"]

  /// `(metric, indices)`: `error_task3` → `("error", ["task": 3])`; `test_accuracy_stage1_task2` →
  /// `("test_accuracy", ["stage": 1, "task": 2])`; `after_task_1` → `("after", ["task": 1])`.
  public static func split(metric name: String) -> (metric: String, indices: [String: Int]) {
    var parts = name.split(separator: "_", omittingEmptySubsequences: false).map(String.init)
    var indices: [String: Int] = [:]
    while parts.count >= 2 {
      let last = parts[parts.count - 1]
      if let word = indexWords.first(where: { last.hasPrefix($0) }), let n = Int(last.dropFirst(word.count)),
        n >= 0, indices[word] == nil, last.count > word.count
      {
        indices[word] = n
        parts.removeLast()
      } else if parts.count >= 3, let n = Int(last), n >= 0, indexWords.contains(parts[parts.count - 2]),
        indices[parts[parts.count - 2]] == nil
      {
        indices[parts[parts.count - 2]] = n
        parts.removeLast(2)
      } else {
        break
      }
    }
    return (parts.joined(separator: "_"), indices)
  }

  /// `runs.csv` of `records`, ordered by `variants` (then any others), then seed.
  public static func runsCSV(records: [AggregationRecord], variants: [String]) -> String {
    let ordered = order(records, variants: variants)
    let parameters = parameterNames(ordered, onlyVarying: false)
    var splits: [String: (metric: String, indices: [String: Int])] = [:]
    for record in ordered {
      for metric in record.outcome.metrics where splits[metric.name] == nil {
        splits[metric.name] = split(metric: metric.name)
      }
    }
    let indexColumns = indexWords.filter { word in splits.values.contains { $0.indices[word] != nil } }
    var header = ["run_key", "variant", "seed"] + parameters.map(columnName) + ["metric"] + indexColumns
    header.append("value")
    var out = header.map(csvField).joined(separator: ",") + "\n"
    for record in ordered {
      let head =
        [csvField(record.runKey), csvField(record.variant), String(record.seed)]
        + parameters.map { record.parameters[$0].map(cell) ?? "" }
      for metric in record.outcome.metrics {
        let (name, indices) = splits[metric.name]!
        var row = head + [csvField(name)]
        row += indexColumns.map { indices[$0].map(String.init) ?? "" }
        row.append(ReportNumber.exact(metric.value))
        out += row.joined(separator: ",") + "\n"
      }
    }
    return out
  }

  /// The long form of series `series`: one row per run that reported it and point; nil when no
  /// run did.
  public static func longCurveCSV(series: String, records: [AggregationRecord], variants: [String]) -> String?
  {
    let ordered = order(records, variants: variants).filter { $0.outcome.series(named: series) != nil }
    guard !ordered.isEmpty else { return nil }
    let parameters = parameterNames(ordered, onlyVarying: true)
    let header = ["variant", "seed"] + parameters.map(columnName) + ["x", "value"]
    var out = header.map(csvField).joined(separator: ",") + "\n"
    for record in ordered {
      let curve = record.outcome.series(named: series)!
      let head =
        ([csvField(record.variant), String(record.seed)]
        + parameters.map { record.parameters[$0].map(cell) ?? "" })
        .joined(separator: ",")
      for (i, value) in curve.values.enumerated() {
        out += head + "," + ReportNumber.exact(curve.x(i)) + "," + ReportNumber.exact(value) + "\n"
      }
    }
    return out
  }

  /// The columns that are not parameters; a parameter of the same name is written `param_<name>`.
  static let fixedColumns = Set(["run_key", "variant", "seed", "metric", "x", "value"] + indexWords)

  private static func columnName(_ parameter: String) -> String {
    fixedColumns.contains(parameter) ? "param_" + parameter : parameter
  }

  /// A parameter's value as a CSV cell: words unquoted (unless CSV needs quotes), numbers exact.
  private static func cell(_ value: ParameterValue) -> String {
    switch value {
    case .string(let text): csvField(text)
    case .int(let n): String(n)
    case .double(let x): ReportNumber.exact(x)
    case .bool(let b): b ? "true" : "false"
    }
  }

  /// The parameter names of `records` in name order: all of them, or those whose value is not the
  /// same in every record.
  private static func parameterNames(_ records: [AggregationRecord], onlyVarying: Bool) -> [String] {
    var names = Set<String>()
    for record in records { names.formUnion(record.parameters.keys) }
    guard onlyVarying, let first = records.first else { return names.sorted() }
    return names.filter { name in records.contains { $0.parameters[name] != first.parameters[name] } }
      .sorted()
  }

  /// Records by variant in `variants` order (others after, in order of appearance), then by seed.
  private static func order(_ records: [AggregationRecord], variants: [String]) -> [AggregationRecord] {
    let names = records.variants(startingWith: variants)
    let rank = Dictionary(names.enumerated().map { ($1, $0) }, uniquingKeysWith: { a, _ in a })
    return records.enumerated().sorted { a, b in
      let (p, q) = (rank[a.element.variant]!, rank[b.element.variant]!)
      if p != q { return p < q }
      if a.element.seed != b.element.seed { return a.element.seed < b.element.seed }
      return a.offset < b.offset
    }.map(\.element)
  }
}
