import TrainingCore

/// SynthObjects, the procedural colour stand-in for CIFAR of meta-experiments.md §0.3: a coloured
/// shape on a textured, noisy background, whose class fixes the shape, the hue band and the
/// texture.
///
/// With K = 10 classes (SynthObjects-10, CIFAR-10's stand-in) class k has shape k, hue band k and
/// texture k mod 3; with K = 100 (CIFAR-100's) shape k mod 10, hue band ⌊k/10⌋ and texture
/// (k + ⌊k/10⌋) mod 3. Shapes: disk, square, triangle, ring, cross, h-bar, v-bar, diamond, star,
/// ellipse. Hue bands are tenths of the colour circle; textures are flat, stripes and checks.
///
/// Each image draws, in this order, from `RandomStream(rootSeed: seed, stream:
/// "synth-objects.image", indices: [split, index])` (lengths in pixels at 32 px, scaled by
/// side / 32):
/// - the object: centre U[11, 21) px each of x and y, radius U[7, 11) px, rotation U[−20°, 20°),
///   hue (band + ½)/10 + U[−0.07, 0.07) turns (so neighbouring bands overlap), saturation and
///   value U[0.6, 1);
/// - the background: grey level U[0.3, 0.7), texture direction U[0, ½) turns, texture phase
///   U[0, 1) turns;
/// - then, per pixel in row-major order and per channel (red, green, blue), noise N(0, 0.08²).
///
/// A pixel's ink is clamp(½ − d, 0, 1), d being its distance outside the shape's boundary in pixels
/// (negative inside; a one-pixel anti-aliased edge), and its value clamp(ink·object + (1 − ink)·
/// background + noise, 0, 1), stored as round(255 × value) in planes (CIFAR's order). Sines come
/// from ``DeterministicMath``, so no host's libm changes a bit.
public enum SynthObjects {
  /// The names a sweep asks for the datasets by: 10 or 100 classes, 32 px or 16 px (smoke).
  public static let names = [(10, 32), (100, 32), (10, 16), (100, 16)].map { name(classes: $0, side: $1) }

  /// The dataset's name: `synth-objects-K` at 32 px, `synth-objects-K-S` at another side S.
  public static func name(classes: Int, side: Int) -> String {
    "synth-objects-\(classes)" + (side == 32 ? "" : "-\(side)")
  }

  /// The classes and settings (default counts and seed) of the dataset called `name`, one of
  /// ``names``.
  static func settings(named name: String) -> (classes: Int, settings: SynthImageSettings)? {
    for classes in [10, 100] {
      for side in [32, 16] where self.name(classes: classes, side: side) == name {
        var settings = SynthImageSettings()
        settings.side = side
        return (classes, settings)
      }
    }
    return nil
  }
  /// The ten shapes, in class order.
  public static let shapes = [
    "disk", "square", "triangle", "ring", "cross", "h-bar", "v-bar", "diamond", "star", "ellipse",
  ]
  /// The pixel noise's standard deviation, per channel.
  public static let noiseStandardDeviation = 0.08
  /// The texture's amplitude around the background's grey level.
  public static let textureAmplitude = 0.12
  /// The texture's period in pixels (at 32 px).
  public static let texturePeriod = 6.0

  /// The dataset with `classes` (10 or 100) classes at `settings.side` (settings' default 28 is
  /// the caller's to change: the named datasets use 32 and 16), named for its classes and side.
  public static func makeDataset(classes: Int, _ settings: SynthImageSettings) throws(DatasetError)
    -> ImageDataset
  {
    guard classes == 10 || classes == 100 else {
      throw DatasetError(
        .invalidSetting, path: nil, field: .settings, "SynthObjects has 10 or 100 classes, not \(classes)")
    }
    return try SynthImages.makeDataset(
      name: name(classes: classes, side: settings.side), classes: classes, settings: settings, channels: 3,
      stream: "synth-objects"
    ) { label, random, pixels in
      drawImage(label: label, classes: classes, side: settings.side, random: &random, into: pixels)
    }
  }

  /// (shape, hue band, texture) of class `label`.
  static func traits(of label: Int, classes: Int) -> (shape: Int, hue: Int, texture: Int) {
    classes == 10 ? (label, label, label % 3) : (label % 10, label / 10, (label + label / 10) % 3)
  }

  /// Draws one image into `pixels` (3 planes of side × side), taking its random numbers from
  /// `random` in the order the type's documentation gives.
  static func drawImage(
    label: Int, classes: Int, side: Int, random: inout RandomStream,
    into pixels: UnsafeMutableBufferPointer<UInt8>
  ) {
    let unit = Double(side) / 32
    func uniform(_ low: Double, _ high: Double) -> Double { low + (high - low) * random.uniformDouble() }
    let (shape, band, texture) = traits(of: label, classes: classes)
    let centre = SIMD2(uniform(11, 21), uniform(11, 21)) * unit
    let radius = uniform(7, 11) * unit
    let turn = uniform(-20, 20) / 360
    let hue = (Double(band) + 0.5) / 10 + uniform(-0.07, 0.07)
    let colour = rgb(hue: hue, saturation: uniform(0.6, 1), value: uniform(0.6, 1))
    let grey = uniform(0.3, 0.7)
    let textureTurn = uniform(0, 0.5)
    let texturePhase = random.uniformDouble()
    let (cosine, sine) = (DeterministicMath.cosTurns(turn), DeterministicMath.sinTurns(turn))
    let textureDirection = SIMD2(
      DeterministicMath.cosTurns(textureTurn), DeterministicMath.sinTurns(textureTurn))
    let period = texturePeriod * unit
    let plane = side * side
    for row in 0..<side {
      for column in 0..<side {
        let position = SIMD2(Double(column) + 0.5, Double(row) + 0.5)
        let offset = position - centre
        // The pixel in the shape's frame: rotated back and in units of the radius.
        let p = SIMD2(cosine * offset.x + sine * offset.y, -sine * offset.x + cosine * offset.y) / radius
        let ink = min(max(0.5 - outside(shape: shape, p) * radius, 0), 1)
        var background = grey
        switch texture {
        case 1:
          background +=
            textureAmplitude
            * DeterministicMath.sinTurns((position * textureDirection).sum() / period + texturePhase)
        case 2:
          let a = DeterministicMath.sinTurns(position.x / period + texturePhase)
          let b = DeterministicMath.sinTurns(position.y / period + texturePhase)
          background += textureAmplitude * (a * b >= 0 ? 1 : -1)
        default: break
        }
        for channel in 0..<3 {
          let value =
            ink * colour[channel] + (1 - ink) * background + noiseStandardDeviation * random.normal()
          pixels[channel * plane + row * side + column] = UInt8((255 * min(max(value, 0), 1)).rounded())
        }
      }
    }
  }

  /// How far `p` (in the shape's frame, radius 1) lies outside the shape, in radii (negative
  /// inside): exact for disk, ring and the straight-edged shapes' nearest edge, a close measure for
  /// ellipse and star.
  static func outside(shape: Int, _ p: SIMD2<Double>) -> Double {
    let (x, y) = (abs(p.x), abs(p.y))
    let length = (p * p).sum().squareRoot()
    switch shape {
    case 0: return length - 1
    case 1: return max(x, y) - 0.8
    case 2:
      // Equilateral, pointing up (y grows downwards): edges at distance 0.5 from the centre.
      let h = 0.866_025_403_784_438_6
      return max(p.y - 0.5, max(h * p.x - 0.5 * p.y, -h * p.x - 0.5 * p.y) - 0.5)
    case 3: return abs(length - 0.75) - 0.22
    case 4: return min(max(x - 0.95, y - 0.3), max(x - 0.3, y - 0.95))
    case 5: return max(x - 1, y - 0.3)
    case 6: return max(x - 0.3, y - 1)
    case 7: return (x + y - 0.95) * 0.707_106_781_186_547_6
    case 8:
      // A five-pointed star: the radius 0.6 + 0.35·cos 5φ, cos 5φ = T₅(cos φ), pointing up.
      guard length > 1e-9 else { return -0.6 }
      let c = -p.y / length
      let c2 = c * c
      return length - (0.6 + 0.35 * c * (16 * c2 * c2 - 20 * c2 + 5))
    default:
      let q = SIMD2(p.x, p.y / 0.55)
      return ((q * q).sum().squareRoot() - 1) * 0.55
    }
  }

  /// HSV (hue in turns) to RGB, each in [0, 1]: the piecewise-linear sextant formula.
  static func rgb(hue: Double, saturation: Double, value: Double) -> [Double] {
    let h = (hue - hue.rounded(.down)) * 6
    let sextant = min(Int(h.rounded(.down)), 5)
    let f = h - Double(sextant)
    let (p, q, t) = (
      value * (1 - saturation), value * (1 - saturation * f), value * (1 - saturation * (1 - f))
    )
    switch sextant {
    case 0: return [value, t, p]
    case 1: return [q, value, p]
    case 2: return [p, value, t]
    case 3: return [p, q, value]
    case 4: return [t, p, value]
    default: return [value, p, q]
    }
  }
}
