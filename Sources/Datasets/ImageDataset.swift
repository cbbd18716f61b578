import Crypto

/// One split (train or test) of an image dataset: the images in file order and their labels.
public struct ImageSplit: Sendable, Equatable {
  /// The pixels, 0 (black) to 255, image after image in file order; each image is its channels'
  /// planes in turn (red, green, blue for colour), each row after row (N × channels × rows ×
  /// columns: IDX's order for grey images, CIFAR's for colour).
  public let images: [UInt8]
  /// One class index per image, each below the dataset's ``ImageDataset/classes``.
  public let labels: [UInt8]

  /// A split of `labels.count` images; ``ImageDataset/init(name:rows:columns:classes:train:test:)``
  /// checks that the images fill them.
  public init(images: [UInt8], labels: [UInt8]) {
    self.images = images
    self.labels = labels
  }

  /// The number of images.
  public var count: Int { labels.count }
}

/// A labelled image dataset (grey or colour), train and test, as a worker loads it once and shares it
/// between its training threads (see ``DatasetCache``).
///
/// Its ``sha256`` identifies the content: the same arrays give the same hash in every process,
/// whatever the dataset's name and whether its files were gzipped, so a worker can compare its copy
/// with the one a sweep was run on.
public struct ImageDataset: Sendable, Equatable {
  /// The name a sweep asks for it by (`fashion-mnist`, `mnist`, `synth-digits`).
  public let name: String
  /// Image height in pixels.
  public let rows: Int
  /// Image width in pixels.
  public let columns: Int
  /// Channels per pixel: 1 for grey, 3 for colour (stored as planes, see ``ImageSplit/images``).
  public let channels: Int
  /// The number of classes; every label is below it.
  public let classes: Int
  /// The training split.
  public let train: ImageSplit
  /// The test split.
  public let test: ImageSplit
  /// The content hash, SHA-256 as 64 lower-case hex digits, of these bytes in order:
  /// - the UTF-8 text `metasweep.image-dataset.v1` and one zero byte;
  /// - rows, columns, classes, train count and test count, each as a little-endian u64, and, for
  ///   more than one channel only, the channel count (so grey datasets keep their v1 hashes);
  /// - the train images, train labels, test images and test labels, one byte per value.
  ///
  /// The name is left out, so an MNIST-shaped folder written from ``SynthDigits`` and read back as
  /// `mnist` has the hash of the generated dataset.
  public let sha256: String

  /// The dataset with these splits, checked: `rows`, `columns`, `channels` and `classes` positive
  /// (classes at most 256: labels are bytes), each split's images exactly its count of channels ×
  /// rows × columns, and every label below `classes`. A failed check throws a ``DatasetError``
  /// without a path (the loaders check files first and name them).
  public init(
    name: String, rows: Int, columns: Int, channels: Int = 1, classes: Int, train: ImageSplit,
    test: ImageSplit
  ) throws(DatasetError) {
    guard rows > 0 && columns > 0 && channels > 0 && classes > 0 && classes <= 256 else {
      throw DatasetError(
        .invalidSetting, path: nil, field: .dimensions,
        "\(name): \(rows) × \(columns) images of \(channels) channels in \(classes) classes: images need a pixel, "
          + "and 1 to 256 classes"
      )
    }
    for (splitName, split) in [("train", train), ("test", test)] {
      guard split.images.count == split.count * channels * rows * columns else {
        throw DatasetError(
          .shapeMismatch, path: nil, field: .dimensions,
          "\(name): \(split.images.count) \(splitName) pixels are not \(split.count) images of \(channels) × \(rows) × \(columns)"
        )
      }
      if let index = split.labels.firstIndex(where: { Int($0) >= classes }) {
        throw DatasetError(
          .invalidLabels, path: nil, field: .labels,
          "\(name): \(splitName) label \(split.labels[index]) of image \(index) is not one of the \(classes) classes"
        )
      }
    }
    self.name = name
    self.rows = rows
    self.columns = columns
    self.channels = channels
    self.classes = classes
    self.train = train
    self.test = test
    sha256 = Self.contentHash(
      rows: rows, columns: columns, channels: channels, classes: classes, train: train, test: test)
  }

  /// Values per image, channels × rows × columns.
  public var pixelsPerImage: Int { channels * rows * columns }

  /// The hash ``sha256`` documents.
  static func contentHash(
    rows: Int, columns: Int, channels: Int, classes: Int, train: ImageSplit, test: ImageSplit
  ) -> String {
    var hasher = Crypto.SHA256()
    hasher.update(data: Array("metasweep.image-dataset.v1".utf8) + [0])
    var shape: [UInt8] = []
    for value in [rows, columns, classes, train.count, test.count] + (channels == 1 ? [] : [channels]) {
      shape += (0..<8).map { UInt8(truncatingIfNeeded: UInt64(value) >> (8 * $0)) }
    }
    hasher.update(data: shape)
    for bytes in [train.images, train.labels, test.images, test.labels] {
      bytes.withUnsafeBytes { hasher.update(bufferPointer: $0) }
    }
    let digits = Array("0123456789abcdef".utf8)
    return String(
      decoding: hasher.finalize().flatMap { [digits[Int($0 >> 4)], digits[Int($0 & 15)]] }, as: UTF8.self)
  }
}
