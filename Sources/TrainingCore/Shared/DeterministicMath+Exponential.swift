extension DeterministicMath {
  /// eˣ of four `Double`s at once, within about 1 ulp, from +, −, ×, ÷ and bit operations only.
  ///
  /// With x clamped to [−746, 710] (outside, eˣ is 0 or ∞ in `Double`): k = round(x/ln 2),
  /// r = x − k·ln 2 in two parts (Cody–Waite, |r| ≤ ln2/2), eʳ by its Taylor polynomial to r¹³
  /// (truncation below 2⁻⁵⁷ relative), then eˣ = (eʳ·2^⌊k/2⌋)·2^(k − ⌊k/2⌋): both powers of two
  /// are normal numbers, so subnormal results are rounded once, by the last product. NaN stays
  /// NaN and x > 709.78 gives +∞.
  @inline(__always)
  public static func exp(_ x: SIMD4<Double>) -> SIMD4<Double> {
    let clamped = x.replacing(with: -746, where: x .< -746).replacing(with: 710, where: x .> 710)
    // Adding 1.5·2⁵² rounds x/ln2 to the nearest integer (ties to even) in the low mantissa bits.
    let magic = 6_755_399_441_055_744.0
    let shifted = clamped * 1.442_695_040_888_963_4 + magic
    let k = shifted - magic
    let kBits = unsafeBitCast(shifted, to: SIMD4<Int64>.self) &- Int64(bitPattern: magic.bitPattern)
    let r = (clamped - k * 0.693_147_180_369_123_816_49) - k * 1.908_214_929_270_587_700_02e-10
    var p = SIMD4<Double>(repeating: 1.0 / 6_227_020_800)  // 1/13!
    p = p * r + 1.0 / 479_001_600
    p = p * r + 1.0 / 39_916_800
    p = p * r + 1.0 / 3_628_800
    p = p * r + 1.0 / 362_880
    p = p * r + 1.0 / 40320
    p = p * r + 1.0 / 5040
    p = p * r + 1.0 / 720
    p = p * r + 1.0 / 120
    p = p * r + 1.0 / 24
    p = p * r + 1.0 / 6
    p = p * r + 0.5
    p = p * r + 1
    p = p * r + 1
    let half = kBits &>> 1
    let rest = kBits &- half
    let scaleHalf = unsafeBitCast((half &+ 1023) &<< 52, to: SIMD4<Double>.self)
    let scaleRest = unsafeBitCast((rest &+ 1023) &<< 52, to: SIMD4<Double>.self)
    let result = (p * scaleHalf) * scaleRest
    return result.replacing(with: .infinity, where: x .> 709.782_712_893_384).replacing(
      with: .nan, where: x .!= x)
  }

  /// eˣ of one `Double`: lane 0 of the SIMD form, so scalar and vector results are identical.
  public static func exp(_ x: Double) -> Double { exp(SIMD4<Double>(repeating: x))[0] }
}
