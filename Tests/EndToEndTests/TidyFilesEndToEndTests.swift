import Foundation
import Testing

/// Issue 17.2's check from a user's side: Python's csv module reads runs.csv and a long curve and
/// groups a metric by a parameter, with no string parsing, to the summary's and the wide curve's
/// numbers.
@Suite struct TidyFilesEndToEndTests {
  /// Runs a small GEOFF sweep named `name` (three tasks of 200 examples, 16 units) through the
  /// binary in a new folder, with `body` (seeds, grid, baseline) added to its file; returns the folder.
  private func runSmallGeoffSweep(_ name: String, _ body: String) throws -> URL {
    let dir = try makeScratchDirectory()
    let spec = dir.appendingPathComponent("\(name).yaml").path
    try """
    name: \(name)
    experiment: geoff
    fixed: {examples_per_task: 200, bin_size: 50, tail_examples: 50, hidden_units: 16, target_features: 16}
    \(body)
    """.write(toFile: spec, atomically: true, encoding: .utf8)
    let run = try Binary.run(["run", spec, "--workers", "2"], in: dir)
    #expect(run.status == 0, "\(run.stderr)")
    return dir
  }

  @Test func pythonGroupsAMetricByAParameter_fromRunsCSV_andACurve_fromItsLongForm() throws {
    let dir = try runSmallGeoffSweep(
      "tidy",
      """
      seeds: 0..<3
      grid:
        algorithm: [backprop, crossprop]
        step_size: [0.001, 0.01]
      """)
    let script = dir.appendingPathComponent("check.py").path
    try #"""
    import csv, math, sys
    from collections import defaultdict
    out = sys.argv[1]
    rows = list(csv.DictReader(open(out + "/runs.csv")))
    # The mean error of task 2 for every (algorithm, step_size), from columns alone.
    groups = defaultdict(list)
    variant_of = {}
    for r in rows:
        if r["metric"] == "error" and r["task"] == "2":
            key = (r["algorithm"], float(r["step_size"]))
            groups[key].append(float(r["value"]))
            variant_of[key] = r["variant"]
    assert len(groups) == 4 and all(len(v) == 3 for v in groups.values()), groups
    summary = {(r["variant"], r["metric"]): float(r["mean"]) for r in csv.DictReader(open(out + "/summary.csv"))}
    for key, values in groups.items():
        mine = sum(values) / len(values)
        theirs = summary[(variant_of[key], "error_task2")]
        assert abs(mine - theirs) <= 1e-12 * max(1, abs(theirs)), (key, mine, theirs)
    # The error curve of backprop at step size 0.01 at every x, from the long form.
    long = defaultdict(list)
    for r in csv.DictReader(open(out + "/curves/error.long.csv")):
        if r["algorithm"] == "backprop" and float(r["step_size"]) == 0.01:
            long[float(r["x"])].append(float(r["value"]))
    wide = list(csv.DictReader(open(out + "/curves/error.csv")))
    column = variant_of[("backprop", 0.01)] + "_mean"
    assert len(wide) == len(long) > 0, (len(wide), len(long))
    for r in wide:
        values = long[float(r["x"])]
        assert len(values) == 3
        assert abs(sum(values) / 3 - float(r[column])) <= 1e-12 * max(1, abs(float(r[column]))), r["x"]
    print("grouped", len(groups), "variants and", len(wide), "points")
    """#.write(toFile: script, atomically: true, encoding: .utf8)
    // Every figure has a PNG and a PDF beside it, and a second report writes the same bytes.
    let figures = dir.appendingPathComponent("results/tidy/figures")
    let png = try Data(contentsOf: figures.appendingPathComponent("error.png"))
    let pdf = try Data(contentsOf: figures.appendingPathComponent("error.pdf"))
    #expect(png.starts(with: [0x89, 0x50, 0x4E, 0x47]) && pdf.starts(with: Array("%PDF".utf8)))
    let again = try Binary.run(["report", dir.appendingPathComponent("results/tidy").path], in: dir)
    #expect(again.status == 0, "\(again.stderr)")
    #expect(try Data(contentsOf: figures.appendingPathComponent("error.pdf")) == pdf)
    #expect(try Data(contentsOf: figures.appendingPathComponent("error.png")) == png)
    // Task switches are marked and the figure is titled by what it measures.
    let svg = try String(contentsOf: figures.appendingPathComponent("error.svg"), encoding: .utf8)
    #expect(svg.contains(">task switch</text>") && svg.contains("squared error per example"))
    let python = try Binary.runTool(
      "/usr/bin/python3", [script, dir.appendingPathComponent("results/tidy").path], in: dir)
    #expect(python.status == 0, "\(python.stdout)\(python.stderr)")
    #expect(python.stdout.contains("grouped 4 variants and 12 points"), "\(python.stdout)")
  }

  @Test func aBaseline_writesPairedComparisons_andReportCanChooseAnother() throws {
    let dir = try runSmallGeoffSweep(
      "cmp", "seeds: 0..<4\ngrid: {step_size: [0.001, 0.003, 0.01]}\nbaseline: step_size=0.001")
    let out = dir.appendingPathComponent("results/cmp")
    let csv = try String(contentsOf: out.appendingPathComponent("comparisons.csv"), encoding: .utf8)
    let lines = csv.split(separator: "\n")
    // Two variants against the baseline, nine metrics each.
    #expect(lines.count == 1 + 2 * 9, "\(csv)")
    #expect(lines.dropFirst().allSatisfy { $0.contains(",step_size=0.001,4,") }, "\(csv)")
    let summary = try String(contentsOf: out.appendingPathComponent("summary.md"), encoding: .utf8)
    #expect(summary.contains("## Paired differences against step_size=0.001"))
    // Another baseline and intervals from the command line; an unknown one is refused.
    let report = try Binary.run(["report", out.path, "--baseline", "step_size=0.01", "--intervals"], in: dir)
    #expect(report.status == 0, "\(report.stderr)")
    let again = try String(contentsOf: out.appendingPathComponent("comparisons.csv"), encoding: .utf8)
    #expect(again.split(separator: "\n").dropFirst().allSatisfy { $0.contains(",step_size=0.01,4,") })
    #expect(report.stdout.contains("; [95% confidence interval, Student's t]."), "\(report.stdout)")
    let wrong = try Binary.run(["report", out.path, "--baseline", "adam"], in: dir)
    #expect(wrong.status == 2 && wrong.stderr.contains("'adam' is not a variant"), "\(wrong.stderr)")
  }
}
