import Foundation
import Testing
import TrainingCore

@Test func sinTurns_agreesWithTheHostsSine_andIsExactAtQuarterTurns() {
  var random = RandomStream(rootSeed: 3, stream: "test-sine")
  var turns: [Double] = [0, 0.125, -0.125, 0.375, 0.625, 0.875, 0.999_999_999, -0.3, 12.7, -1e3 + 0.1]
  for _ in 0..<20_000 { turns.append(-50 + 100 * random.uniformDouble()) }
  for t in turns {
    // The host's sin(2πt) itself loses about |2πt|·2⁻⁵³ to the rounding of 2πt; ours reduces turns
    // exactly, so compare against the host's sine of the reduced turn.
    let reduced = t - t.rounded(.down)
    let host = Foundation.sin(2 * Double.pi * reduced)
    #expect(abs(DeterministicMath.sinTurns(t) - host) <= 1e-15, "sinTurns(\(t))")
    #expect(
      abs(DeterministicMath.cosTurns(t) - Foundation.cos(2 * Double.pi * reduced)) <= 1e-15, "cosTurns(\(t))")
  }
  #expect(DeterministicMath.sinTurns(0) == 0)
  #expect(DeterministicMath.sinTurns(0.25) == 1)
  #expect(DeterministicMath.sinTurns(0.75) == -1)
  #expect(DeterministicMath.sinTurns(-0.25) == -1)
  #expect(DeterministicMath.cosTurns(0) == 1)
  #expect(DeterministicMath.sinTurns(0.5) == 0 || abs(DeterministicMath.sinTurns(0.5)) < 1e-300)
}
