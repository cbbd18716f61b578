import Foundation
import Testing
import TrainingCore

@Test func deterministicExp_isWithinOneUlpOfTheHostsExp_overTheWholeRange() {
  var random = RandomStream(rootSeed: 2, stream: "test-exp")
  var arguments: [Double] = [0, -0.0, 1, -1, 0.5, 709.7, -708, -745, -745.2, -746, -800, 710, 1e-300]
  for _ in 0..<20_000 { arguments.append(-745 + 1455 * random.uniformDouble()) }
  for x in arguments {
    let ours = DeterministicMath.exp(x), host = Foundation.exp(x)
    if host == 0 || host.isInfinite {
      #expect(ours == host, "exp(\(x))")
    } else {
      // Within one ulp of the host's (itself within an ulp of the truth); subnormals in absolute terms.
      #expect(abs(ours - host) <= max(host.ulp, Double.leastNonzeroMagnitude), "exp(\(x))")
    }
  }
  #expect(DeterministicMath.exp(Double.nan).isNaN)
  #expect(DeterministicMath.exp(-Double.infinity) == 0)
  #expect(DeterministicMath.exp(Double.infinity) == .infinity)
}
