import Testing

@testable import Aggregation
@testable import SweepModel

/// Issue 17.4: summary.tex, a booktabs table per metric group with the best mean in bold.
struct SummaryLaTeXTests {
  private func record(_ variant: String, _ seed: UInt64, _ metrics: [(String, Double)]) -> AggregationRecord {
    AggregationRecord(
      variant: variant, seed: seed, outcome: Outcome(metrics: metrics.map { Metric($0.0, $0.1) }))
  }

  @Test func latex_isBooktabs_roundsLikeMarkdown_andBoldsTheBestOnlyWhereADirectionIsKnown() {
    let records = [
      record("back_prop", 0, [("error_task1", 10), ("error_task2", 4), ("drift", 1)]),
      record("back_prop", 1, [("error_task1", 12), ("error_task2", 6), ("drift", 3)]),
      record("cross & prop", 0, [("error_task1", 7), ("error_task2", 5), ("drift", 2)]),
      record("cross & prop", 1, [("error_task1", 9), ("error_task2", 7), ("drift", 2)]),
    ]
    let table = SummaryTable(records: records, variants: ["back_prop", "cross & prop"])
    let tex = table.latex(title: "demo", directions: ["error": .lowerIsBetter])
    #expect(
      tex.contains(
        "\\begin{tabular}{lrr}\n\\toprule\nvariant & error\\_task1 & error\\_task2 \\\\\n\\midrule\n"))
    // Task 1: cross & prop is lower (8 against 11); task 2: back_prop (5 against 6).
    #expect(tex.contains("back\\_prop & $11.0 \\pm 1.0$ & $\\mathbf{5.0 \\pm 1.0}$ \\\\\n"), "\(tex)")
    #expect(tex.contains("cross \\& prop & $\\mathbf{8.0 \\pm 1.0}$ & $6.0 \\pm 1.0$ \\\\\n"), "\(tex)")
    #expect(
      tex.contains("\\caption{error: mean $\\pm$ standard error over seeds, n = 2 seeds; the best mean"))
    // A drift has no direction: nothing in its table is bold.
    let drift = tex.components(separatedBy: "\\begin{table}").last ?? ""
    #expect(drift.contains("drift") && !drift.contains("\\mathbf"), "\(drift)")
    #expect(
      tex.components(separatedBy: "\\begin{table}").count - 1 == tex.components(separatedBy: "\\end{table}")
        .count - 1)
    #expect(
      SummaryTable.latexText("a_b%c$d#e{f}g~h^i\\j")
        == "a\\_b\\%c\\$d\\#e\\{f\\}g\\textasciitilde{}h\\textasciicircum{}i\\textbackslash{}j")
  }
}
