import Dispatch
import TrainingCore

/// How a synthetic dataset (``SynthDigits``, ``SynthGratings``) is generated. Every field has a
/// default; the defaults stand in for MNIST file for file (60,000 + 10,000 images of 28 × 28).
public struct SynthImageSettings: Hashable, Sendable {
  /// The root seed: every image and label is a function of (seed, split, index). Default 0.
  public var seed: UInt64 = 0
  /// The number of training images. Default 60,000, as MNIST.
  public var trainCount = 60_000
  /// The number of test images. Default 10,000, as MNIST.
  public var testCount = 10_000
  /// The side of the square images in pixels, 8 to 256. The generators' lengths are for 28 pixels
  /// and scale by side / 28. Default 28.
  public var side = 28

  public init() {}

  public init(_ configure: (inout SynthImageSettings) -> Void) {
    configure(&self)
  }
}

/// What the synthetic datasets share: checked settings, balanced shuffled labels, and images drawn
/// in parallel, each from its own random stream, so the bits do not depend on the thread count.
enum SynthImages {
  /// Draws one image of a class into side × side pixels, row-major, from the image's stream.
  typealias Draw =
    @Sendable (_ label: Int, _ random: inout RandomStream, _ pixels: UnsafeMutableBufferPointer<UInt8>)
    -> Void

  /// The dataset `name` with `classes` classes of `channels`-channel images: for split s (0 train,
  /// 1 test) the labels are balanced (each class ⌊N/classes⌋ or ⌈N/classes⌉ times) and shuffled by
  /// `RandomStream(rootSeed: seed, stream: "<stream>.labels", indices: [s])`, and image i is drawn
  /// by `draw` from `RandomStream(rootSeed: seed, stream: "<stream>.image", indices: [s, i])`;
  /// `stream` is `name` unless given.
  static func makeDataset(
    name: String, classes: Int, settings: SynthImageSettings, channels: Int = 1, stream: String? = nil,
    draw: @escaping Draw
  ) throws(DatasetError) -> ImageDataset {
    guard settings.trainCount >= 0 && settings.testCount >= 0 else {
      throw DatasetError(
        .invalidSetting, path: nil, field: .settings,
        "image counts must not be negative (train \(settings.trainCount), test \(settings.testCount))")
    }
    guard (8...256).contains(settings.side) else {
      throw DatasetError(
        .invalidSetting, path: nil, field: .settings, "side \(settings.side) is not between 8 and 256 pixels")
    }
    let shape = SplitShape(stream: stream ?? name, classes: classes, channels: channels)
    let train = makeSplit(0, count: settings.trainCount, shape: shape, settings: settings, draw: draw)
    let test = makeSplit(1, count: settings.testCount, shape: shape, settings: settings, draw: draw)
    return try ImageDataset(
      name: name, rows: settings.side, columns: settings.side, channels: channels, classes: classes,
      train: train,
      test: test)
  }

  /// What a split's drawing needs besides the settings.
  private struct SplitShape {
    var stream: String
    var classes: Int
    var channels: Int
  }

  /// The labels and images of split `split`.
  private static func makeSplit(
    _ split: UInt64, count: Int, shape: SplitShape, settings: SynthImageSettings, draw: @escaping Draw
  ) -> ImageSplit {
    var labels = (0..<count).map { UInt8($0 % shape.classes) }
    var order = RandomStream(rootSeed: settings.seed, stream: "\(shape.stream).labels", indices: [split])
    order.shuffle(&labels)
    let pixels = shape.channels * settings.side * settings.side
    let imageStream = "\(shape.stream).image"
    let images = [UInt8](unsafeUninitializedCapacity: count * pixels) { buffer, initialized in
      let chunks = max(1, min(count / 64, 256))
      let shared = ImageWriter(pixels: buffer, labels: labels)
      let drawChunk: @Sendable (Int) -> Void = { chunk in
        for index in (chunk * count / chunks)..<((chunk + 1) * count / chunks) {
          var random = RandomStream(
            rootSeed: settings.seed, stream: imageStream, indices: [split, UInt64(index)])
          draw(
            Int(shared.labels[index]), &random,
            UnsafeMutableBufferPointer(rebasing: shared.pixels[(index * pixels)..<((index + 1) * pixels)]))
        }
      }
      if chunks == 1 {
        drawChunk(0)
      } else {
        DispatchQueue.concurrentPerform(iterations: chunks, execute: drawChunk)
      }
      initialized = count * pixels
    }
    return ImageSplit(images: images, labels: labels)
  }
}

/// The buffers the image-drawing threads share.
///
/// `@unchecked Sendable` because it holds a raw pointer. Invariant: the thread drawing image i
/// writes only image i's pixels, so no two threads touch the same byte; the
/// labels are only read; the buffer outlives `concurrentPerform`, which returns after every thread.
private struct ImageWriter: @unchecked Sendable {
  let pixels: UnsafeMutableBufferPointer<UInt8>
  let labels: [UInt8]
}
