import Testing

@testable import Aggregation
@testable import SweepModel

/// Issue 17.3: Student's t, paired tests and Holm's correction agree with scipy.stats and
/// statsmodels (StudentTReference.swift, written by tools/reference/student-t.py) to 1e-9.
struct StudentTTests {
  private func close(_ a: Double, _ b: Double, _ tolerance: Double = 1e-9) -> Bool {
    if a.isNaN || b.isNaN { return a.isNaN && b.isNaN }
    return a == b || abs(a - b) <= tolerance * max(abs(b), 1e-300)
  }

  @Test func distributionFunction_andTwoSidedP_matchScipy() {
    var worst = 0.0
    for c in studentTDistribution {
      let cdf = StudentT.cdf(c.t, degreesOfFreedom: c.df)
      let p = StudentT.twoSidedP(c.t, degreesOfFreedom: c.df)
      #expect(close(cdf, c.cdf), "cdf(\(c.t), \(c.df)) = \(cdf), scipy \(c.cdf)")
      #expect(close(p, c.twoSided), "p(\(c.t), \(c.df)) = \(p), scipy \(c.twoSided)")
      worst = max(worst, abs(p - c.twoSided) / max(c.twoSided, 1e-300))
    }
    #expect(worst < 1e-11, "worst relative error of p: \(worst)")
  }

  @Test func quantiles_matchScipy() {
    for c in studentTQuantiles {
      let q = StudentT.quantile(c.p, degreesOfFreedom: c.df)
      #expect(close(q, c.quantile), "quantile(\(c.p), \(c.df)) = \(q), scipy \(c.quantile)")
      // And the quantile is the inverse of the distribution function.
      #expect(close(StudentT.cdf(q, degreesOfFreedom: c.df), c.p, 1e-12))
    }
  }

  private func record(_ variant: String, _ seed: Int, _ value: Double) -> AggregationRecord {
    AggregationRecord(variant: variant, seed: UInt64(seed), outcome: Outcome(metrics: [Metric("m", value)]))
  }

  @Test func pairedComparisons_matchScipysTTestRel_andIntervals() throws {
    for c in pairedTests {
      let records =
        c.first.enumerated().map { record("b", $0.offset, $0.element) }
        + c.second.enumerated().map { record("a", $0.offset, $0.element) }
      let table = ComparisonTable(records: records, variants: ["a", "b"], metrics: [], baseline: "a")
      let row = try #require(table.rows.first)
      #expect(table.rows.count == 1 && row.variant == "b" && row.count == c.first.count)
      for (mine, scipy, name) in [
        (row.mean, c.mean, "mean"), (row.standardError, c.se, "se"), (row.intervalLow, c.low, "low"),
        (row.intervalHigh, c.high, "high"), (row.t, c.t, "t"), (row.p, c.p, "p"),
      ] {
        #expect(close(mine, scipy), "n = \(c.first.count): \(name) \(mine), scipy \(scipy)")
      }
    }
  }

  @Test func holmsCorrection_matchesStatsmodels_andLeavesNaNOut() {
    for c in holmCorrections {
      let mine = ComparisonTable.holm(c.p)
      #expect(zip(mine, c.holm).allSatisfy { close($0, $1, 1e-12) }, "\(mine) vs \(c.holm)")
      // A NaN (an undefined test) is not counted: the others are corrected as if it were absent.
      let withNaN = ComparisonTable.holm([.nan] + c.p)
      #expect(withNaN[0].isNaN && Array(withNaN.dropFirst()) == mine)
    }
  }

  @Test func meanWithError_roundsTheMeanToTheErrorsSecondSignificantDigit() {
    #expect(meanWithError(112.34, 5.31) == "112.3 ± 5.3")
    #expect(meanWithError(83.6, 3) == "83.6 ± 3.0")
    #expect(meanWithError(0.004655, 5.3e-05) == "0.004655 ± 0.000053")
    #expect(meanWithError(1.234, 0.0996) == "1.23 ± 0.10")
    #expect(meanWithError(56789, 1234) == "56800 ± 1200")
    #expect(meanWithError(4.66e-7, 5.3e-8) == "(4.66 ± 0.53)e-07")
    #expect(meanWithError(-0.0001, 0.02) == "0.000 ± 0.020")
    #expect(meanWithError(0.8732, 0.0074, scale: 100) == "87.32 ± 0.74")
    #expect(meanWithError(2.5, 0) == "2.5 ± 0")
    #expect(meanWithError(2.5, .nan) == "2.5")
    #expect(roundedLike(1.23456, error: 0.0996) == "1.23")
  }

  @Test func comparisonTable_writesCSV_andMarksHolmSignificantRows() {
    var records: [AggregationRecord] = []
    for seed in 0..<5 {
      let x = Double(seed)
      records.append(record("base", seed, x))
      records.append(record("better", seed, x + 1 + (seed % 2 == 0 ? 0 : 0.01)))
      records.append(record("same", seed, x + (seed % 2 == 0 ? 0.1 : -0.1)))
    }
    let table = ComparisonTable(
      records: records, variants: ["base", "better", "same"], metrics: [], baseline: "base")
    #expect(table.rows.map { $0.variant } == ["better", "same"])
    #expect(
      table.csv.hasPrefix("variant,metric,baseline,n,mean_difference,se,ci95_low,ci95_high,t,p,p_holm\n"))
    #expect(table.csv.split(separator: "\n").count == 3)
    let lines = table.markdown.split(separator: "\n").map(String.init)
    #expect(lines.contains { $0.hasPrefix("| better | m | ") && $0.hasSuffix("✱ |") }, "\(table.markdown)")
    #expect(lines.contains { $0.hasPrefix("| same | m | ") && !$0.hasSuffix("✱ |") }, "\(table.markdown)")
  }
}
