import Foundation
import Testing
import TrainingCore

/// Distance in units in the last place of the correctly rounded `Float` of `exact`.
private func ulps(_ value: Float, _ exact: Double) -> Double {
  let rounded = Float(exact)
  let ulp = rounded == 0 ? Float.leastNonzeroMagnitude : rounded.ulp
  return abs(Double(value) - exact) / Double(ulp)
}

@Test func tanh_isWithinTwoUlpOfFoundationTanh() {
  var worst = 0.0
  var x: Float = -12
  while x <= 12 {
    worst = max(worst, ulps(DeterministicMath.tanh(x), Foundation.tanh(Double(x))))
    x += 0.000_37
  }
  var tiny: Float = 1e-30
  while tiny < 1 {
    worst = max(worst, ulps(DeterministicMath.tanh(tiny), Foundation.tanh(Double(tiny))))
    worst = max(worst, ulps(DeterministicMath.tanh(-tiny), Foundation.tanh(Double(-tiny))))
    tiny *= 1.01
  }
  #expect(worst <= 2, "worst error \(worst) ulp")
}

@Test func tanh_saturatesAndKeepsSignAndZero() {
  #expect(DeterministicMath.tanh(Float(50)) == 1)
  #expect(DeterministicMath.tanh(Float(-50)) == -1)
  #expect(DeterministicMath.tanh(Float(1e6)) == 1)
  #expect(DeterministicMath.tanh(Float(0)) == 0)
  let inputs: [Float] = [-3, -1, -0.5, 0, 0.25, 1, 2, 9]
  let lanes = DeterministicMath.tanh(FloatLanes(inputs))
  for i in 0..<8 { #expect(lanes[i] == DeterministicMath.tanh(inputs[i])) }
  #expect(DeterministicMath.tanh(Float(-0.5)) == -DeterministicMath.tanh(Float(0.5)))
}

@Test func log_isWithinOneUlpOfFoundationLog() {
  var random = RandomStream(seed: 9)
  for _ in 0..<20_000 {
    let x = random.uniformDouble() + 0x1p-60
    let exact = Foundation.log(x)
    #expect(abs(DeterministicMath.log(x) - exact) <= 2 * exact.ulp)
  }
  #expect(DeterministicMath.log(1) == 0)
  #expect(abs(DeterministicMath.log(1e300) - Foundation.log(1e300)) <= 2 * Foundation.log(1e300).ulp)
}
