import Dispatch

/// Test metrics of a meta-trained LSTM on fresh sequences (notes/meta-experiments.md §2.1 "Test"
/// and §2.4). A "segment" is one function's stretch: the whole sequence in episodic mode.
public struct MetaEvaluation: Sendable, Equatable {
  /// Test sequences evaluated.
  public var sequences: Int
  /// MSE_t: mean squared error over all cycles of all test sequences, learning phase included.
  public var meanSquaredError: Double
  /// Mean |ŷ − y| at each cycle of the sequence (index t − 1 for cycle t).
  public var meanAbsoluteErrorPerCycle: [Double]
  /// The thresholds τ of ``cyclesToLearnMean`` and ``cyclesToLearnMedian``.
  public var thresholds: [Double]
  /// Mean over segments of cycles-to-learn: the 1-based index within the segment of the last cycle
  /// with |error| ≥ τ, 0 if none (PD of §2.1).
  public var cyclesToLearnMean: [Double]
  /// Median over segments of the same (the mean of the two middle values for an even count).
  public var cyclesToLearnMedian: [Double]
  /// Running-mean baseline MSE: predicting the mean of the targets seen so far in the segment (0.5
  /// before the first).
  public var runningMeanBaselineMSE: Double
  /// Boolean only: MSE of the segments of each function number 0…15 (NaN if none was drawn).
  public var perFunctionMSE: [Double]
  /// Boolean only: fraction of cycles after the 20th of their segment with |error| < 0.5.
  public var bitAccuracyAfterCycle20: Double
  /// Boolean only: the Bayes-optimal learner's MSE on these same test sequences (told of switches).
  public var bayesMSEOnTestSequences: Double
  /// Boolean only: its exact expected MSE (``BooleanBayesPredictor/expectedMeanSquaredError(length:segmentLength:allowedMask:)``).
  public var bayesBoundMSE: Double

  /// Evaluates `network` on test sequences k = 0..<`count` from (seed, "test", [k]) of `length`
  /// cycles. Predictions are computed on up to `threads` threads, one slot per sequence; every
  /// statistic is then accumulated in sequence order.
  public init(
    network: LSTMNetwork, settings: SequenceSettings, length: Int, count: Int, seed: UInt64, threads: Int = 1
  ) {
    precondition(count >= 1 && length >= 1, "evaluation needs sequences")
    var testSequences: [MetaSequence] = []
    testSequences.reserveCapacity(count)
    for k in 0..<count {
      testSequences.append(.test(settings: settings, length: length, seed: seed, index: k))
    }
    var predictions = [Float](repeating: 0, count: count * length)
    let workers = max(1, min(threads, count))
    testSequences.withUnsafeBufferPointer { sequences in
      predictions.withUnsafeMutableBufferPointer { out in
        let shared = PredictionWriter(sequences: sequences, out: out)
        let work: @Sendable (Int) -> Void = { worker in
          for k in stride(from: worker, to: count, by: workers) {
            let yHat = network.predictions(for: shared.sequences[k])
            for t in 0..<length { shared.out[k * length + t] = yHat[t] }
          }
        }
        if workers == 1 {
          work(0)
        } else {
          DispatchQueue.concurrentPerform(iterations: workers, execute: work)
        }
      }
    }
    self.init(sequences: testSequences, predictions: predictions, settings: settings)
  }

  /// The metrics of `predictions` (count·length, sequence-major) on `sequences`.
  public init(sequences: [MetaSequence], predictions: [Float], settings: SequenceSettings) {
    let length = sequences[0].length
    let thresholds = settings.family.learnedThresholds
    var squared = 0.0
    var absolutePerCycle = [Double](repeating: 0, count: length)
    var learned: [[Int]] = thresholds.map { _ in [] }
    var baseline = 0.0
    var functionSum = [Double](repeating: 0, count: 16)
    var functionCount = [Int](repeating: 0, count: 16)
    var lateCorrect = 0
    var lateTotal = 0
    var bayes = 0.0
    for (k, sequence) in sequences.enumerated() {
      let segment = sequence.segmentLength
      var lastAbove = thresholds.map { _ in 0 }
      var targetSum = 0.0
      var predictor = BooleanBayesPredictor(allowedMask: settings.booleanFunctionMask)
      for t in 0..<length {
        let position = t % segment
        if position == 0 {
          targetSum = 0
          predictor.reset()
        }
        let y = Double(sequence.targets[t])
        let error = Double(predictions[k * length + t]) - y
        squared += error * error
        absolutePerCycle[t] += abs(error)
        for (j, tau) in thresholds.enumerated() where abs(error) >= tau { lastAbove[j] = position + 1 }
        let mean = position == 0 ? 0.5 : targetSum / Double(position)
        baseline += (mean - y) * (mean - y)
        targetSum += y
        if settings.family == .boolean {
          if case .boolean(let index) = sequence.functions[t / segment] {
            functionSum[index] += error * error
            functionCount[index] += 1
          }
          if position >= 20 {
            lateTotal += 1
            if abs(error) < 0.5 { lateCorrect += 1 }
          }
          let x1 = Int(sequence.inputs[3 * t])
          let x2 = Int(sequence.inputs[3 * t + 1])
          let b = predictor.prediction(x1, x2) - y
          bayes += b * b
          predictor.observe(x1, x2, Int(y))
        }
        if position == segment - 1 || t == length - 1 {
          for j in thresholds.indices { learned[j].append(lastAbove[j]) }
          lastAbove = thresholds.map { _ in 0 }
        }
      }
    }
    let cycles = Double(sequences.count * length)
    self.sequences = sequences.count
    meanSquaredError = squared / cycles
    meanAbsoluteErrorPerCycle = absolutePerCycle.map { $0 / Double(sequences.count) }
    self.thresholds = thresholds
    cyclesToLearnMean = learned.map { Double($0.reduce(0, +)) / Double($0.count) }
    cyclesToLearnMedian = learned.map { Self.median($0) }
    runningMeanBaselineMSE = baseline / cycles
    let isBoolean = settings.family == .boolean
    perFunctionMSE = (0..<16).map {
      isBoolean && functionCount[$0] > 0 ? functionSum[$0] / Double(functionCount[$0]) : .nan
    }
    bitAccuracyAfterCycle20 = isBoolean && lateTotal > 0 ? Double(lateCorrect) / Double(lateTotal) : .nan
    bayesMSEOnTestSequences = isBoolean ? bayes / cycles : .nan
    bayesBoundMSE =
      isBoolean
      ? BooleanBayesPredictor.expectedMeanSquaredError(
        length: length, segmentLength: sequences[0].segmentLength, allowedMask: settings.booleanFunctionMask)
      : .nan
  }

  /// The median of `values` (the mean of the two middle ones for an even count).
  static func median(_ values: [Int]) -> Double {
    let sorted = values.sorted()
    let n = sorted.count
    guard n > 0 else { return .nan }
    return n % 2 == 1 ? Double(sorted[n / 2]) : Double(sorted[n / 2 - 1] + sorted[n / 2]) / 2
  }
}

/// The buffers the prediction workers share.
///
/// `@unchecked Sendable` because it holds raw pointers. Invariant: `sequences` is only read, and
/// the worker that owns sequence k writes only `out[k·length ..< (k+1)·length]`; both buffers
/// outlive `concurrentPerform`.
struct PredictionWriter: @unchecked Sendable {
  let sequences: UnsafeBufferPointer<MetaSequence>
  let out: UnsafeMutableBufferPointer<Float>
}
