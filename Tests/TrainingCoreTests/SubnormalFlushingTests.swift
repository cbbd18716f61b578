import Testing
import TrainingCore

/// A value the optimiser cannot fold into a constant.
@inline(never) private func opaque(_ x: Float) -> Float { x }

@Test func subnormalFlushing_zeroesSubnormalResultsAndInputs_onlyInsideTheBody() {
  let tiny = opaque(Float.leastNormalMagnitude)
  let subnormal = opaque(tiny / 4)
  #expect(subnormal != 0 && subnormal.isSubnormal)
  let (halved, timesOne) = SubnormalFlushing.withSubnormalsFlushed {
    (opaque(tiny) / 4, opaque(subnormal) * opaque(1))
  }
  #if arch(x86_64)
    #expect(halved == 0, "a subnormal result is flushed to zero")
    #expect(timesOne == 0, "a subnormal operand counts as zero")
  #endif
  #expect(opaque(tiny) / 4 == subnormal, "the caller's arithmetic is restored afterwards")
}

@Test func classifierStep_flushesAnUpdateBelowTheSmallestNormal_asTF1Did() {
  // U and the hidden biases start at 0, so φ = 0 and 1 − φ² = 1; W = 10⁻³⁶ makes the backprop
  // signal α·Σ δ_k·w_kj ≈ 10⁻⁴⁰, a subnormal: without flushing U would leave 0.
  var settings = OnlineClassifierSettings()
  (settings.inputs, settings.hiddenUnits, settings.classes) = (4, 8, 2)
  var classifier = OnlineClassifier(
    settings: settings, inputWeights: Array(repeating: 0, count: 32),
    hiddenBiases: Array(repeating: 0, count: 8),
    outputWeights: (0..<16).map { Float($0 % 2 == 0 ? 1e-36 : -1e-36) }, outputBiases: [0, 0])
  let pixels: [UInt8] = [255, 0, 128, 7]
  pixels.withUnsafeBufferPointer { _ = classifier.learn($0, label: 1) }
  #if arch(x86_64)
    #expect(classifier.inputWeights.allSatisfy { $0 == 0 })
    #expect(classifier.hiddenBiases.allSatisfy { $0 == 0 })
  #endif
  #expect(classifier.outputBiases != [0, 0], "the step did learn: the output biases moved")
}
