import Testing

@testable import Aggregation
@testable import SweepModel

/// Issue 17.2: per-run data in long form.
struct TidyTablesTests {
  @Test func metricNames_splitIntoTheMetricAndItsIndices() {
    #expect(TidyTables.split(metric: "error_task3") == ("error", ["task": 3]))
    #expect(
      TidyTables.split(metric: "test_accuracy_stage1_task2") == ("test_accuracy", ["stage": 1, "task": 2]))
    #expect(TidyTables.split(metric: "after_task_1") == ("after", ["task": 1]))
    #expect(TidyTables.split(metric: "cycles_to_learn_mean_tau2") == ("cycles_to_learn_mean", ["tau": 2]))
    // No index: left whole (a count in a name is not an index; a word alone is not one either).
    #expect(TidyTables.split(metric: "bit_accuracy_after_20") == ("bit_accuracy_after_20", [:]))
    #expect(TidyTables.split(metric: "task") == ("task", [:]))
    #expect(TidyTables.split(metric: "task_") == ("task_", [:]))
    #expect(TidyTables.split(metric: "error_taskx") == ("error_taskx", [:]))
    #expect(TidyTables.split(metric: "error_task1_task2") == ("error_task1", ["task": 2]))
  }

  private func run(
    _ variant: String, _ seed: UInt64, _ parameters: Parameters, _ metrics: [(String, Double)],
    series: [Series] = []
  ) -> AggregationRecord {
    AggregationRecord(
      variant: variant, seed: seed,
      outcome: Outcome(metrics: metrics.map { Metric($0.0, $0.1) }, series: series), parameters: parameters,
      runKey: "k\(variant)\(seed)")
  }

  @Test func runsCSV_hasOneRowPerRunAndMetric_parametersAsColumns_andIndicesApart() {
    let records = [
      run(
        "b, quoted", 1, ["eta": .double(0.5), "value": .int(3)], [("error_task1", 0.25), ("score", .nan)]),
      run("a", 0, ["eta": .double(0), "name": .string("x")], [("error_task2", 1e-300)]),
      run("b, quoted", 0, ["eta": .double(0.5), "value": .int(3)], [("score", -.infinity)]),
    ]
    #expect(
      TidyTables.runsCSV(records: records, variants: ["a", "b, quoted"])
        == """
        run_key,variant,seed,eta,name,param_value,metric,task,value
        ka0,a,0,0.0,x,,error,2,1e-300
        kb, quoted0,"b, quoted",0,0.5,,3,score,,-inf
        kb, quoted1,"b, quoted",1,0.5,,3,error,1,0.25
        kb, quoted1,"b, quoted",1,0.5,,3,score,,NaN

        """.replacingOccurrences(of: "kb, quoted0", with: "\"kb, quoted0\"").replacingOccurrences(
          of: "kb, quoted1", with: "\"kb, quoted1\""))
  }

  @Test func longCurve_hasOneRowPerPoint_withTheParametersThatVary() {
    let curve = { (values: [Double]) in Series(name: "loss", xStart: 100, xStep: 100, values: values) }
    let records = [
      run("a", 0, ["eta": .double(0), "shared": .int(7)], [], series: [curve([3, 2])]),
      run("b", 0, ["eta": .double(1), "shared": .int(7)], [], series: [curve([4])]),
      run("b", 1, ["eta": .double(1), "shared": .int(7)], []),
    ]
    #expect(
      TidyTables.longCurveCSV(series: "loss", records: records, variants: ["a", "b"]) == """
        variant,seed,eta,x,value
        a,0,0.0,100.0,3.0
        a,0,0.0,200.0,2.0
        b,0,1.0,100.0,4.0

        """)
    #expect(TidyTables.longCurveCSV(series: "other", records: records, variants: ["a", "b"]) == nil)
  }
}
