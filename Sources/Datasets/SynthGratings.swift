import TrainingCore

/// SynthGratings, the procedural stand-in for Fashion-MNIST of meta-experiments.md §0.3: noisy
/// sinusoidal gratings under a Gaussian window, whose class is the orientation and the period.
///
/// Class c has orientation (c mod 5) × 36° (the direction of the wave vector, from the x axis
/// towards y, which points down) and period 4 px for c < 5, 7 px for c ≥ 5 (at 28 px). Each image
/// draws, in this order, from its own stream `RandomStream(rootSeed: seed, stream:
/// "synth-gratings.image", indices: [split, index])` (split 0 train, 1 test):
/// - phase φ ~ U[0, 1) turns, contrast a ~ U[0.5, 1), envelope width σ ~ U[6, 10) px, and the
///   envelope's centre (cx, cy) ~ side/2 + U[−4, 4) px each (uniforms from
///   ``RandomStream/uniformDouble()``);
/// - then, per pixel in row-major order, noise n ~ N(0, 0.4²) (``RandomStream/normal()``).
///
/// A pixel whose centre is (x, y) has value clamp(½ + ½·a·e·sin(2π(u/p + φ)) + n, 0, 1), with
/// u = (x − cx)·cos θ + (y − cy)·sin θ and e = exp(−((x − cx)² + (y − cy)²)/(2σ²)), stored as
/// round(255 × value). The random phase makes the class invisible to a linear classifier on raw
/// pixels, so the representation matters; oriented edges are features SynthDigits shares, so it
/// is a related second task. Labels are balanced and shuffled as in ``SynthDigits``; sines and
/// the exponential come from ``DeterministicMath``, so no host's libm changes a bit.
public enum SynthGratings {
  /// The name a sweep asks for the dataset by.
  public static let name = "synth-gratings"
  /// The number of classes: 5 orientations × 2 periods.
  public static let classes = 10
  /// The number of orientations, 180° / 5 = 36° apart.
  public static let orientations = 5
  /// The two periods in pixels (at 28 px): classes 0-4 have the first, 5-9 the second.
  public static let periods = [4.0, 7.0]
  /// Contrast, the amplitude of the grating relative to half the intensity range.
  public static let contrasts = 0.5..<1.0
  /// The envelope's standard deviation in pixels (at 28 px).
  public static let envelopeWidths = 6.0..<10.0
  /// The envelope centre's offset from the image centre in pixels (at 28 px), each of x and y.
  public static let centreOffsets = -4.0..<4.0
  /// Standard deviation of the additive pixel noise, in units of full intensity. The note's 0.15
  /// is tuned up as it asks, so a LeNet-size network lands in its 85-95 %: the smoke LeNet on
  /// 15,000 images reaches 99.9 % test accuracy after 5 epochs at 0.15 and, after 10 epochs, 99.8 % at 0.25,
  /// 97.0 % at 0.35 and 95.2 % at 0.4 (after four epochs at chance: the oriented filters are found
  /// late); at 0.45 and 0.7 it is still near chance after 5 epochs.
  public static let noiseStandardDeviation = 0.4

  /// The dataset `settings` describe, named ``name``.
  public static func makeDataset(_ settings: SynthImageSettings = SynthImageSettings()) throws(DatasetError)
    -> ImageDataset
  {
    try SynthImages.makeDataset(name: name, classes: classes, settings: settings) { grating, random, pixels in
      drawImage(grating: grating, side: settings.side, random: &random, into: pixels)
    }
  }

  /// Draws one image of class `grating` into `pixels` (side × side, row-major), taking its random
  /// numbers from `random` in the order the type's documentation gives.
  static func drawImage(
    grating: Int, side: Int, random: inout RandomStream, into pixels: UnsafeMutableBufferPointer<UInt8>
  ) {
    let unit = Double(side) / 28
    func uniform(_ range: Range<Double>) -> Double {
      range.lowerBound + (range.upperBound - range.lowerBound) * random.uniformDouble()
    }
    let phase = random.uniformDouble()
    let contrast = uniform(contrasts)
    let sigma = uniform(envelopeWidths) * unit
    let centre =
      SIMD2(repeating: Double(side) / 2) + SIMD2(uniform(centreOffsets), uniform(centreOffsets)) * unit
    let turn = Double(grating % orientations) / Double(2 * orientations)
    let direction = SIMD2(DeterministicMath.cosTurns(turn), DeterministicMath.sinTurns(turn))
    let period = periods[grating / orientations] * unit
    let inverseSpread = -1 / (2 * sigma * sigma)
    for row in 0..<side {
      for column in 0..<side {
        let offset = SIMD2(Double(column) + 0.5, Double(row) + 0.5) - centre
        let envelope = DeterministicMath.exp((offset * offset).sum() * inverseSpread)
        let wave = DeterministicMath.sinTurns((offset * direction).sum() / period + phase)
        let value = 0.5 + 0.5 * contrast * envelope * wave + noiseStandardDeviation * random.normal()
        pixels[row * side + column] = UInt8((255 * min(max(value, 0), 1)).rounded())
      }
    }
  }
}
