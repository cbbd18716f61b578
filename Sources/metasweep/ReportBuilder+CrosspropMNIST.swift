import Aggregation
import Experiments
import Foundation
import Journal
import SweepModel

/// The crossprop paper's image experiment: its t-SNE maps (Fig. 4) and its claims, checked seed
/// by seed (claims.md).
extension ReportBuilder {
  /// Writes `maps/<map>.csv` (every variant and seed) and `figures/<map>_<variant>.svg` (each
  /// variant's smallest seed) for every t-SNE map the runs reported; returns the files written.
  func writePointMaps(sweep: SweepSpec, finished: [FinishedRun]) throws -> [String] {
    let maps = ExperimentCatalogue.family(named: sweep.experiment)?.descriptor.pointMaps ?? []
    var written: [String] = []
    for map in maps {
      var embeddings: [EmbeddingTable.Embedding] = []
      var firstOfVariant: [(variant: String, run: FinishedRun, points: [ScatterPoint])] = []
      for variant in sweep.variants.map(\.name) {
        let runs = finished.filter { $0.run.variant == variant }.sorted { $0.run.seed < $1.run.seed }
        for run in runs {
          guard let points = Self.points(of: map, in: run.outcome) else { continue }
          embeddings.append(EmbeddingTable.Embedding(variant: variant, seed: run.run.seed, points: points))
          if firstOfVariant.last?.variant != variant { firstOfVariant.append((variant, run, points)) }
        }
      }
      guard !embeddings.isEmpty else { continue }
      try FileManager.default.createDirectory(
        atPath: directory + "/maps", withIntermediateDirectories: true)
      try EmbeddingTable(embeddings: embeddings).csv.write(
        toFile: directory + "/maps/\(map).csv", atomically: true, encoding: .utf8)
      written.append("maps/\(map).csv")
      for (variant, run, points) in firstOfVariant {
        let dataset = run.run.parameters["dataset"].flatMap { if case .string(let s) = $0 { s } else { nil } }
        let stage = map.drop { !$0.isNumber }
        let knn = run.outcome.metric("tsne_knn_stage\(stage)").map { String(format: "%.3f", $0) } ?? "?"
        let plot = ScatterPlot(
          title: "\(variant), seed \(run.run.seed): hidden units after stage \(stage)",
          subtitle:
            // No sweep name: a long one pushed the accuracy past the right edge (the folder names the sweep).
            "t-SNE of the first \(points.count) training images of \(dataset ?? "the dataset") by true class; "
            + "5-NN accuracy \(knn)",
          classNames: CrosspropMNISTExperiment.classNames(dataset: dataset ?? ""), points: points)
        let name = "figures/\(map)_\(variant).svg"
        try plot.svg().write(toFile: directory + "/" + name, atomically: true, encoding: .utf8)
        written.append(name)
      }
    }
    return written
  }

  /// The points of map `map` in `outcome` (its `_x`, `_y` and `_label` series), or nil.
  static func points(of map: String, in outcome: Outcome) -> [ScatterPoint]? {
    guard let x = outcome.series(named: map + "_x"), let y = outcome.series(named: map + "_y"),
      let label = outcome.series(named: map + "_label"), x.values.count == y.values.count,
      x.values.count == label.values.count
    else { return nil }
    return x.values.indices.map {
      ScatterPoint(x: x.values[$0], y: y.values[$0], label: Int(label.values[$0]))
    }
  }

  /// claims.md: the paper's claims about its image experiment, each as paired differences over
  /// seeds with a 95% interval and a verdict.
  static func crosspropMNISTClaims(sweep: SweepSpec, finished: [FinishedRun]) -> String {
    /// Per variant, per metric, the value of each seed.
    var values: [String: [String: [UInt64: Double]]] = [:]
    var algorithm: [String: String] = [:]
    var datasets: Set<String> = []
    for run in finished {
      for metric in run.outcome.metrics {
        values[run.run.variant, default: [:]][metric.name, default: [:]][run.run.seed] = metric.value
      }
      if case .string(let name) = run.run.parameters["algorithm"] { algorithm[run.run.variant] = name }
      if case .string(let name) = run.run.parameters["dataset"],
        case .string(let hash) = run.run.parameters["dataset_sha256"]
      {
        datasets.insert("\(name) (SHA-256 \(hash.prefix(16))…)")
      }
    }
    let variants = sweep.variants.map(\.name).filter { values[$0] != nil }
    let crossprop = variants.filter { algorithm[$0] == "crossprop-approx" }
    let backprop = variants.filter { algorithm[$0] == "backprop" }
    let adaptive = variants.filter { ["adam", "rmsprop"].contains(algorithm[$0] ?? "") }
    let plain = variants.filter { !adaptive.contains($0) }
    let stages = (1...CrosspropMNISTExperiment.maximumStages).filter { stage in
      variants.contains { values[$0]?["error_task\(stage)"] != nil }
    }
    let seeds = Set(finished.map(\.run.seed)).count

    var lines = [
      "# \(sweep.name): the crossprop paper's claims about its image experiment", "",
      "Data: \(datasets.sorted().joined(separator: ", ")). \(finished.count) runs, \(seeds) seeds "
        + "(the paper ran 1, on MNIST).",
      "Each row compares two variants seed by seed (runs with the same seed start from the same weights and see",
      "the same images in the same order): the mean difference ± its standard error, the 95% interval",
      "(Student's t, n − 1 degrees of freedom), and whether the interval lies on the side the paper claims.",
      "",
    ]
    var verdicts: [(claim: String, failures: [String], unresolved: [String], count: Int)] = []

    func comparisonTable(
      title: String, claim: String, metric: (Int) -> String, pairs: [(String, String)], expectNegative: Bool,
      format: String
    ) {
      lines += [
        "## \(title)", "", claim, "",
        "| comparison | stage | first | second | first − second | 95% interval | n | verdict |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
      ]
      var failures: [String] = []
      var unresolved: [String] = []
      for (first, second) in pairs {
        for stage in stages {
          let name = metric(stage)
          guard let a = values[first]?[name], let b = values[second]?[name] else { continue }
          let difference = PairedDifference(a, minus: b)
          let verdict = difference.verdict(expectNegative: expectNegative)
          let label = "\(first) vs \(second)\u{0}\(stage)"
          if verdict == .contradicted { failures.append(label) }
          if verdict == .unresolved { unresolved.append(label) }
          let interval =
            difference.interval.map { intervalText($0, error: difference.standardError) } ?? "–"
          let cells = [
            "\(first) − \(second)", "\(stage)", meanSE(Self.bySeed(a), format),
            meanSE(Self.bySeed(b), format), meanSE(difference.differences, format), interval,
            "\(difference.count)", verdict.rawValue,
          ]
          lines.append("| " + cells.joined(separator: " | ") + " |")
        }
      }
      lines.append("")
      verdicts.append((title, failures, unresolved, pairs.count * stages.count))
    }

    let crosspropPairs = crossprop.flatMap { c in backprop.map { (c, $0) } }
    comparisonTable(
      title: "Crossprop-approx changes U less than backprop (Fig. 2 right)",
      claim: "‖U − U₀‖ at the end of each stage; the paper: crossprop's is smaller (first − second < 0).",
      metric: { "u_drift_task\($0)" }, pairs: crosspropPairs, expectNegative: true, format: "%.4g")
    comparisonTable(
      title: "Crossprop-approx changes W more than backprop (Fig. 3 right)",
      claim: "‖W − W₀‖ at the end of each stage; the paper: crossprop's is larger (first − second > 0).",
      metric: { "w_drift_task\($0)" }, pairs: crosspropPairs, expectNegative: false, format: "%.4g")
    comparisonTable(
      title: "Adam and RMSProp reach a lower asymptotic error (Fig. 1 right)",
      claim:
        "Error rate over the last examples of each stage (tail_examples); the paper: Adam's and RMSProp's "
        + "are lower than the other learners' (first − second < 0).",
      metric: { "error_task\($0)" }, pairs: adaptive.flatMap { a in plain.map { (a, $0) } },
      expectNegative: true,
      format: "%.4f")

    // Fig. 4: both cluster by label, alike.
    let mapped = variants.filter { values[$0]?["tsne_knn_stage1"] != nil }
    var mapSummary: String?
    if !mapped.isEmpty {
      lines += [
        "## Both learners' hidden units cluster the images by class (Fig. 4)", "",
        "5-NN accuracy of the true classes in each t-SNE map of the first training images (chance: 0.1), and the",
        "paired difference between the first two mapped variants; the paper: both cluster by label, alike.",
        "",
        "| variant | " + stages.map { "stage \($0)" }.joined(separator: " | ") + " |",
        "|---|" + stages.map { _ in "---:" }.joined(separator: "|") + "|",
      ]
      for variant in mapped {
        let cells = stages.map { stage in
          values[variant]?["tsne_knn_stage\(stage)"].map { meanSE(Self.bySeed($0), "%.3f") } ?? "–"
        }
        lines.append("| \(variant) | " + cells.joined(separator: " | ") + " |")
      }
      if mapped.count >= 2 {
        let cells = stages.map { stage -> String in
          guard let a = values[mapped[0]]?["tsne_knn_stage\(stage)"],
            let b = values[mapped[1]]?["tsne_knn_stage\(stage)"]
          else { return "–" }
          let difference = PairedDifference(a, minus: b)
          let interval =
            difference.interval.map { " " + intervalText($0, error: difference.standardError) } ?? ""
          return meanSE(difference.differences, "%.3f") + interval
        }
        lines.append("| \(mapped[0]) − \(mapped[1]) | " + cells.joined(separator: " | ") + " |")
        let differing = stages.filter { stage in
          guard let a = values[mapped[0]]?["tsne_knn_stage\(stage)"],
            let b = values[mapped[1]]?["tsne_knn_stage\(stage)"]
          else { return false }
          return PairedDifference(a, minus: b).verdict(expectNegative: true) != .unresolved
        }
        let first = mapped.prefix(2).map { variant in
          "\(variant) \(meanSE(Self.bySeed(values[variant]?["tsne_knn_stage1"] ?? [:]), "%.3f"))"
        }
        mapSummary =
          "- **Both learners' hidden units cluster the images by class (Fig. 4)**: 5-NN accuracy in the stage-1 "
          + "maps is \(first.joined(separator: " and ")), against 0.1 by chance; "
          + (differing.isEmpty
            ? "the interval of their difference contains 0 after every stage."
            : "their difference is resolved after stage \(differing.map(String.init).joined(separator: ", ")).")
      }
      lines.append("")
    }

    lines += ["## In short", ""]
    for (claim, failures, unresolved, count) in verdicts where count > 0 {
      var sentence = "- **\(claim)**: "
      if failures.isEmpty && unresolved.isEmpty {
        sentence += "holds in all \(count) comparisons."
      } else {
        let held = count - failures.count - unresolved.count
        sentence += "holds in \(held) of \(count) comparisons"
        if !failures.isEmpty { sentence += "; the opposite holds for " + Self.grouped(failures) }
        if !unresolved.isEmpty { sentence += "; the interval contains 0 for " + Self.grouped(unresolved) }
        sentence += "."
      }
      lines.append(sentence)
    }
    if let mapSummary { lines.append(mapSummary) }
    return lines.joined(separator: "\n") + "\n"
  }

  /// "a vs b (stages 1, 2), c vs d (stage 3)" from "comparison\0stage" entries, in their order.
  private static func grouped(_ entries: [String]) -> String {
    var order: [String] = []
    var stages: [String: [String]] = [:]
    for entry in entries {
      let parts = entry.split(separator: "\u{0}", maxSplits: 1).map(String.init)
      if stages[parts[0]] == nil { order.append(parts[0]) }
      stages[parts[0], default: []].append(parts.count > 1 ? parts[1] : "?")
    }
    return order.map { comparison in
      let list = stages[comparison]!
      return "\(comparison) (stage\(list.count > 1 ? "s" : "") \(list.joined(separator: ", ")))"
    }.joined(separator: ", ")
  }

  /// The mean and spread of per-seed values, added in seed order (never a dictionary's order,
  /// which differs between processes and would move the last bits).
  private static func bySeed(_ values: [UInt64: Double]) -> Welford {
    Welford(values.keys.sorted().map { values[$0]! })
  }

  /// `mean ± SE` rounded as every table is (`meanWithError`), or the mean alone in `format`.
  private static func meanSE(_ w: Welford, _ format: String) -> String {
    guard w.count > 0 else { return "–" }
    return w.count > 1 ? meanWithError(w.mean, w.standardError) : String(format: format, w.mean)
  }
}
