import Foundation
import SweepModel
import Testing

@testable import Journal

private func bits(_ xs: [Double]) -> [UInt64] { xs.map(\.bitPattern) }

@Test func outcomeBlob_roundTripsBitExact_includingNaNPayloadAndNegativeZero() throws {
  let payloadNaN = Double(bitPattern: 0x7FF8_0000_0000_1234)
  let special = [
    0.0, -0.0, .nan, payloadNaN, -.infinity, .infinity, .leastNonzeroMagnitude, .greatestFiniteMagnitude, 0.1,
  ]
  let big = (0..<200_000).map { Double($0) * 0.001 - 7 }
  let metrics = special.enumerated().map { Metric("m\($0.offset) – ünïcode", $0.element) }
  let series = [
    Series(name: "special", xStart: -0.0, xStep: .nan, values: special),
    Series(name: "big", xStart: 100, xStep: 100, values: big),
    Series(name: "empty", xStart: 0, xStep: 1, values: []),
  ]
  let decodedMetrics = try OutcomeBlob.decodeMetrics(OutcomeBlob.encode(metrics: metrics))
  let decodedSeries = try OutcomeBlob.decodeSeries(OutcomeBlob.encode(series: series))
  #expect(decodedMetrics.map(\.name) == metrics.map(\.name))
  #expect(bits(decodedMetrics.map(\.value)) == bits(special))
  #expect(decodedSeries.map(\.name) == series.map(\.name))
  for (a, b) in zip(decodedSeries, series) {
    #expect(bits(a.values) == bits(b.values))
    #expect(a.xStart.bitPattern == b.xStart.bitPattern)
    #expect(a.xStep.bitPattern == b.xStep.bitPattern)
  }
  // Through the journal too.
  let journal = try Journal.temporary()
  let run = RunSpec(ordinal: 0, experiment: "geoff", variant: "v", parameters: [:], seed: 0)
  _ = try journal.prepare(sweepName: "s", experiment: "geoff", specHash: "h", specText: "", runs: [run])
  try journal.recordLease(attempt: 1, key: run.key, worker: "w", at: Date())
  let outcome = Outcome(metrics: metrics, series: series)
  _ = try journal.recordOutcome(
    attempt: 1, key: run.key, worker: "w", outcome: outcome, seconds: 1, at: Date())
  let stored = try #require(try journal.finishedRuns().first).outcome
  #expect(bits(stored.metrics.map(\.value)) == bits(special))
  #expect(bits(stored.series[1].values) == bits(big))
}

@Test func outcomeBlob_isDeterministicAndLittleEndian() {
  let data = OutcomeBlob.encode(metrics: [Metric("a", 1.0)])
  #expect([UInt8](data) == [1, 1, 0, 0, 0, 1, 0, 0, 0, 0x61, 0, 0, 0, 0, 0, 0, 0xF0, 0x3F])
}

@Test func outcomeBlob_detectsTruncatedAndCorruptedBlobs() {
  let metrics = OutcomeBlob.encode(metrics: [Metric("error", 0.5), Metric("drift", 2)])
  let series = OutcomeBlob.encode(series: [Series(name: "error", xStart: 1, xStep: 1, values: [1, 2, 3])])
  for cut in 0..<metrics.count {
    #expect(throws: JournalError.self) { try OutcomeBlob.decodeMetrics(metrics.prefix(cut)) }
  }
  for cut in 0..<series.count {
    #expect(throws: JournalError.self) { try OutcomeBlob.decodeSeries(series.prefix(cut)) }
  }
  #expect(throws: JournalError.self) { try OutcomeBlob.decodeMetrics(metrics + [0]) }
  var badVersion = metrics
  badVersion[0] = 9
  #expect(throws: JournalError.self) { try OutcomeBlob.decodeMetrics(badVersion) }
  var hugeCount = series
  hugeCount.replaceSubrange(1..<5, with: [0xFF, 0xFF, 0xFF, 0x7F])
  #expect(throws: JournalError.self) { try OutcomeBlob.decodeSeries(hugeCount) }
}

@Test func parametersJSON_roundTripsCanonicalText_exactly() throws {
  let parameters: Parameters = [
    "int": .int(-42), "big": .int(Int.max), "double": .double(0.0005), "integral": .double(3),
    "tiny": .double(1e-300), "huge": .double(5e20), "negzero": .double(-0.0),
    "word": .string("a \"b\"\n\\ é \u{01} 😀"),
    "yes": .bool(true), "no": .bool(false),
  ]
  let text = CanonicalJSON.parameters(parameters)
  let decoded = try ParametersJSON.decode(text)
  #expect(decoded == parameters)
  #expect(CanonicalJSON.parameters(decoded) == text)
  #expect(try ParametersJSON.decode("{}") == [:])
  #expect(
    try ParametersJSON.decode(#"{ "a" : 1 , "b":"\u00e9\ud83d\ude00" }"#) == [
      "a": .int(1), "b": .string("é😀"),
    ])
  for bad in [
    "", "{", #"{"a":}"#, #"{"a":1,}"#, #"{"a":1}x"#, #"{"a":[1]}"#, #"{"a":1,"a":2}"#, #"{"a":"\x"}"#,
    #"{"a":1.2.3}"#,
  ] {
    #expect(throws: JournalError.self) { try ParametersJSON.decode(bad) }
  }
}
