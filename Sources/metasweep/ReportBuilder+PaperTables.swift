import Aggregation
import Foundation
import Journal
import SweepModel

extension ReportBuilder {
  /// Tables laid out as in the reproduced paper, next to the paper's own figures, for the
  /// experiments that have one; returns the files written.
  func writePaperTables(sweep: SweepSpec, finished: [FinishedRun]) throws -> [String] {
    switch sweep.experiment {
    case "lstm-metalearning":
      let path = directory + "/table1.md"
      try Self.lstmTable1(sweep: sweep, finished: finished).write(
        toFile: path, atomically: true, encoding: .utf8)
      return ["table1.md"]
    case "crossprop-mnist":
      try Self.crosspropMNISTClaims(sweep: sweep, finished: finished).write(
        toFile: directory + "/claims.md", atomically: true, encoding: .utf8)
      return ["claims.md"] + (try writePointMaps(sweep: sweep, finished: finished))
    case "permuted-continual":
      return try writeContinualPaper(sweep: sweep, finished: finished)
    default:
      return []
    }
  }

  /// Table 1 of Younger, Hochreiter & Conwell (2001), one row per variant, with the paper's MSE and
  /// cycles to learn where the row matches one of the paper's (same family and sequence length).
  static func lstmTable1(sweep: SweepSpec, finished: [FinishedRun]) -> String {
    // (family, examples per mapping) -> (paper's epochs, MSE, cycles to learn), from Table 1.
    let paper: [String: (epochs: Int, mse: Double, cycles: Int)] = [
      "boolean/256": (800, 0.0058, 10), "semilinear/64": (10_000, 0.0008, 10),
      "semilinear/1000": (5000, 0.0025, 50), "quadratic/100": (25_000, 0.00068, 35),
    ]
    var lines = [
      "# \(sweep.name): Table 1 of Younger, Hochreiter & Conwell (2001)", "",
      "Test MSE over whole test sequences (learning phase included) and cycles to learn (median over",
      "sequences, τ₂), mean ± standard error over seeds; budget in presented cycles (steps × batch ×",
      "training length). The running-mean baseline predicts the mean of the targets seen so far.", "",
      "| row | hidden units | problem set | examples per mapping | budget (cycles) | test MSE | paper MSE "
        + "| cycles to learn | paper cycles | running-mean MSE | baseline / MSE |",
      "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for variant in sweep.variants {
      let runs = finished.filter { $0.run.variant == variant.name }
      guard let parameters = runs.first?.run.parameters else { continue }
      func int(_ name: String) -> Int {
        if case .int(let n) = parameters[name] { return n }
        return 0
      }
      func word(_ name: String) -> String {
        if case .string(let s) = parameters[name] { return s }
        return "?"
      }
      func estimate(_ metric: String) -> Welford { Welford(runs.compactMap { $0.outcome.metric(metric) }) }
      let family = word("family")
      let length = int("test_length")
      let mode = word("mode")
      let hidden =
        "\(int("hidden_units")) LSTM" + (int("dense_units") > 0 ? " + \(int("dense_units")) dense" : "")
      let budget = Double(int("steps")) * Double(int("batch")) * Double(int("sequence_length_train"))
      let mse = estimate("test_mse")
      let cycles = estimate("cycles_to_learn_median")
      let baseline = estimate("running_mean_mse")
      let reference = mode == "episodic" ? paper["\(family)/\(length)"] : nil
      let cells = [
        variant.name, hidden, family + (mode == "stream" ? " (stream)" : ""), "\(length)",
        String(format: "%.3g M", budget / 1e6), Self.meanSE(mse), reference.map { "\($0.mse)" } ?? "–",
        Self.meanSE(cycles), reference.map { "\($0.cycles)" } ?? "–", Self.meanSE(baseline),
        String(format: "%.0f×", baseline.mean / mse.mean),
      ]
      lines.append("| " + cells.joined(separator: " | ") + " |")
    }
    return lines.joined(separator: "\n") + "\n"
  }

  static func meanSE(_ w: Welford) -> String {
    let n = w.nonFinite > 0 ? "(n=\(w.count), \(w.nonFinite) not finite)" : "(n=\(w.count))"
    guard w.count > 0 else { return w.nonFinite > 0 ? "– " + n : "–" }
    return (w.count > 1 ? meanWithError(w.mean, w.standardError) : String(format: "%.4g", w.mean)) + " " + n
  }
}
