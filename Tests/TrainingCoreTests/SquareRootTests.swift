import Testing

@testable import TrainingCore

/// The vector square root (SSE `sqrtps` on x86-64) is bit-identical to `Float.squareRoot()` lane by
/// lane: both are IEEE 754 correctly rounded. Checked on every 65 537th bit pattern of the
/// non-negative floats (normals, subnormals, both zeros' neighbours, infinity) plus ±0; negative
/// inputs give NaN in both.
@Test func squareRoot_isBitIdenticalToScalarSquareRoot() {
  var mismatches = 0
  var pattern: UInt32 = 0
  while pattern <= 0x7F80_0000 {
    var lanes = SIMD8<Float>()
    for lane in 0..<8 { lanes[lane] = Float(bitPattern: min(pattern &+ UInt32(lane) &* 512, 0x7F80_0000)) }
    let roots = DeterministicMath.squareRoot(lanes)
    for lane in 0..<8 where roots[lane].bitPattern != lanes[lane].squareRoot().bitPattern { mismatches += 1 }
    pattern += 65_537
  }
  #expect(mismatches == 0)
  let special = SIMD8<Float>(0, -0.0, 1, 4, .infinity, -1, -.infinity, .leastNonzeroMagnitude)
  let roots = DeterministicMath.squareRoot(special)
  for lane in 0..<5 { #expect(roots[lane].bitPattern == special[lane].squareRoot().bitPattern) }
  #expect(roots[5].isNaN && roots[6].isNaN)
  #expect(roots[7] == special[7].squareRoot())
}
