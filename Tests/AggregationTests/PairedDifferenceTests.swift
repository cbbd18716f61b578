import Aggregation
import Testing

@Test func studentT_matchesPublishedQuantiles_andDecreasesWithTheDegreesOfFreedom() {
  // Published to three decimals: t(1) = 12.706, t(4) = 2.776, t(29) = 2.045, t(40) = 2.021,
  // t(60) = 2.000, t(120) = 1.980; z = 1.960. (StudentTTests checks scipy's digits.)
  let published: [(Int, Double)] = [
    (1, 12.706), (4, 2.776), (29, 2.045), (31, 2.040), (40, 2.021), (60, 2.000), (120, 1.980),
    (100_000, 1.960),
  ]
  for (df, published) in published {
    let t = PairedDifference.studentTQuantile975(degreesOfFreedom: df)
    #expect(abs(t - published) < 5.1e-4, "t(\(df)) = \(t)")
  }
  let ts = (1...200).map { PairedDifference.studentTQuantile975(degreesOfFreedom: $0) }
  #expect(zip(ts, ts.dropFirst()).allSatisfy { $0 > $1 })
}

@Test func pairedDifference_comparesSeedBySeed_overTheSeedsBothHave() throws {
  // Seed 3 is only in the first; seed 9 is NaN in the second: both are left out.
  let first: [UInt64: Double] = [0: 1.0, 1: 2.0, 2: 4.0, 3: 100, 9: 1]
  let second: [UInt64: Double] = [0: 2.0, 1: 2.5, 2: 5.5, 9: .nan]
  let d = PairedDifference(first, minus: second)
  #expect(d.count == 3)
  #expect(d.mean == -1.0)  // -1, -0.5, -1.5
  // sd of (-1, -0.5, -1.5) is 0.5; SE = 0.5 / √3; interval ± t(2) = 4.3027 times that (exactly 0.95 / √0.04875).
  #expect(abs(d.standardError - 0.5 / 3.0.squareRoot()) < 1e-12)
  let interval = try #require(d.interval)
  #expect(abs(interval.upperBound - (-1 + 4.302652729749464 * 0.5 / 3.0.squareRoot())) < 1e-12)
  #expect(interval.upperBound > 0)  // 0.242: three seeds cannot tell
  #expect(d.verdict(expectNegative: true) == .unresolved)

  // Unpaired, the same numbers would hide a consistent effect; paired, it shows.
  let a: [UInt64: Double] = [0: 10, 1: 20, 2: 30, 3: 40, 4: 50]
  let b = a.mapValues { $0 + 0.1 }
  let paired = PairedDifference(a, minus: b)
  #expect(paired.verdict(expectNegative: true) == .holds)
  #expect(paired.verdict(expectNegative: false) == .contradicted)
  #expect(PairedDifference(b, minus: a).verdict(expectNegative: false) == .holds)
  // One seed has no spread to judge by.
  #expect(PairedDifference([0: 1], minus: [0: 2]).verdict(expectNegative: true) == .unresolved)
  #expect(PairedDifference([0: 1], minus: [0: 2]).interval == nil)
}
