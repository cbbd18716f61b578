import TrainingCore

/// SynthDigits, the procedural stand-in for MNIST of meta-experiments.md §0.3: the ten digits as
/// seven-segment glyphs drawn in thick strokes, each image randomly warped and noisy.
///
/// Class c is digit c with segments (a top, b upper right, c lower right, d bottom, e lower left,
/// f upper left, g middle) 0 abcdef, 1 bc, 2 abdeg, 3 abcdg, 4 bcfg, 5 acdfg, 6 acdefg, 7 abc,
/// 8 abcdefg, 9 abcdfg, on a glyph 9 px wide and 16 px high centred in the 28 px image. Each image
/// draws, in this order, from its own stream `RandomStream(rootSeed: seed, stream:
/// "synth-digits.image", indices: [split, index])` (split 0 train, 1 test):
/// - stroke width w ~ U[1.5, 3) px, scale s ~ U[0.8, 1.2), rotation θ ~ U[−15°, 15°),
///   shift (dx, dy) ~ U[−3, 3) px each (uniforms from ``RandomStream/uniformDouble()``);
/// - then, per pixel in row-major order, noise n ~ N(0, 0.1²) (``RandomStream/normal()``).
///
/// The glyph is scaled by s, rotated by θ about its centre and moved by (dx, dy); a pixel whose
/// centre lies at distance d from the nearest lit segment has ink clamp(w/2 + 1/2 − d, 0, 1) (a
/// stroke w wide with a one-pixel anti-aliased edge). Its value is clamp(ink + n, 0, 1), stored as
/// round(255 × value). Labels are balanced (each class ⌊N/10⌋ or ⌈N/10⌉ times) and shuffled by
/// `RandomStream(rootSeed: seed, stream: "synth-digits.labels", indices: [split])`.
///
/// Each image depends only on (seed, split, index), so images are generated in parallel with the
/// same bits whatever the thread count; sin and cos of θ are series in +, −, ×, so no host's libm
/// changes a bit.
public enum SynthDigits {
  /// The name a sweep asks for the dataset by.
  public static let name = "synth-digits"
  /// The number of classes, the ten digits.
  public static let classes = 10
  /// Stroke width in pixels (at 28 px).
  public static let strokeWidths = 1.5..<3.0
  /// Glyph scale factor.
  public static let scales = 0.8..<1.2
  /// Rotation in degrees.
  public static let rotationDegrees = -15.0..<15.0
  /// Shift in pixels (at 28 px), drawn separately for x and y.
  public static let shifts = -3.0..<3.0
  /// Standard deviation of the additive pixel noise, in units of full intensity.
  public static let noiseStandardDeviation = 0.1

  /// The lit segments of each digit, as indices into ``segmentEnds``.
  static let digitSegments: [[Int]] = [
    "abcdef", "bc", "abdeg", "abcdg", "bcfg", "acdfg", "acdefg", "abc", "abcdefg", "abcdfg",
  ]
  .map { letters in letters.unicodeScalars.map { Int($0.value) - Int(("a" as Unicode.Scalar).value) } }

  /// The ends of segments a to g in pixels at 28 px, x right and y down from the glyph's centre:
  /// corners at (±4.5, −8), (±4.5, 0), (±4.5, 8).
  static let segmentEnds: [(SIMD2<Double>, SIMD2<Double>)] = {
    let (left, right, top, middle, bottom) = (-4.5, 4.5, -8.0, 0.0, 8.0)
    return [
      (SIMD2(left, top), SIMD2(right, top)),  // a
      (SIMD2(right, top), SIMD2(right, middle)),  // b
      (SIMD2(right, middle), SIMD2(right, bottom)),  // c
      (SIMD2(left, bottom), SIMD2(right, bottom)),  // d
      (SIMD2(left, middle), SIMD2(left, bottom)),  // e
      (SIMD2(left, top), SIMD2(left, middle)),  // f
      (SIMD2(left, middle), SIMD2(right, middle)),  // g
    ]
  }()

  /// The dataset `settings` describe, named ``name``.
  public static func makeDataset(_ settings: SynthImageSettings = SynthImageSettings()) throws(DatasetError)
    -> ImageDataset
  {
    try SynthImages.makeDataset(name: name, classes: classes, settings: settings) { digit, random, pixels in
      drawImage(digit: digit, side: settings.side, random: &random, into: pixels)
    }
  }

  /// Draws one image of `digit` into `pixels` (side × side, row-major), taking its random numbers
  /// from `random` in the order the type's documentation gives.
  static func drawImage(
    digit: Int, side: Int, random: inout RandomStream, into pixels: UnsafeMutableBufferPointer<UInt8>
  ) {
    let unit = Double(side) / 28
    func uniform(_ range: Range<Double>) -> Double {
      range.lowerBound + (range.upperBound - range.lowerBound) * random.uniformDouble()
    }
    let width = uniform(strokeWidths) * unit
    let scale = uniform(scales) * unit
    let angle = uniform(rotationDegrees) * (Double.pi / 180)
    let shift = SIMD2(uniform(shifts), uniform(shifts)) * unit
    let (sine, cosine) = (smallAngleSine(angle), smallAngleCosine(angle))
    let centre = SIMD2(repeating: Double(side) / 2) + shift
    func place(_ point: SIMD2<Double>) -> SIMD2<Double> {
      let p = point * scale
      return centre + SIMD2(cosine * p.x - sine * p.y, sine * p.x + cosine * p.y)
    }
    let strokes = digitSegments[digit].map { segment in
      let (a, b) = segmentEnds[segment]
      let start = place(a)
      return (start: start, direction: place(b) - start)
    }
    // Pixels farther than this from every segment get no ink; the box around the strokes saves
    // the distance computations outside it.
    let reach = width / 2 + 0.5
    var low = SIMD2(repeating: Double.infinity)
    var high = -low
    for stroke in strokes {
      for end in [stroke.start, stroke.start + stroke.direction] {
        low = pointwiseMin(low, end)
        high = pointwiseMax(high, end)
      }
    }
    low -= reach
    high += reach

    for row in 0..<side {
      for column in 0..<side {
        let centreOfPixel = SIMD2(Double(column) + 0.5, Double(row) + 0.5)
        var ink = 0.0
        if all(centreOfPixel .>= low) && all(centreOfPixel .<= high) {
          var nearest = Double.infinity
          for stroke in strokes {
            let offset = centreOfPixel - stroke.start
            let along = (offset * stroke.direction).sum() / (stroke.direction * stroke.direction).sum()
            let gap = offset - min(max(along, 0), 1) * stroke.direction
            nearest = min(nearest, (gap * gap).sum())
          }
          ink = min(max(reach - nearest.squareRoot(), 0), 1)
        }
        let value = min(max(ink + noiseStandardDeviation * random.normal(), 0), 1)
        pixels[row * side + column] = UInt8((255 * value).rounded())
      }
    }
  }

  /// sin x for |x| ≤ π/12 by its Taylor series to x¹³ (truncation below 10⁻¹⁹ there), in +, −, ×.
  static func smallAngleSine(_ x: Double) -> Double {
    let x2 = x * x
    return x * (1 - x2 / 6 * (1 - x2 / 20 * (1 - x2 / 42 * (1 - x2 / 72 * (1 - x2 / 110 * (1 - x2 / 156))))))
  }

  /// cos x for |x| ≤ π/12 by its Taylor series to x¹⁴ (truncation below 10⁻¹⁹ there), in +, −, ×.
  static func smallAngleCosine(_ x: Double) -> Double {
    let x2 = x * x
    return 1 - x2 / 2
      * (1 - x2 / 12 * (1 - x2 / 30 * (1 - x2 / 56 * (1 - x2 / 90 * (1 - x2 / 132 * (1 - x2 / 182))))))
  }
}
