#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// CIFAR-10 and CIFAR-100 in their binary versions (meta-experiments.md §0.3): fixed-length records
/// of label bytes and 3 × 32 × 32 pixels, the red plane, then green, then blue, each row-major.
public enum CIFARFormat: String, CaseIterable, Sendable {
  /// 10 classes; records of 1 label byte + 3,072 pixels in `data_batch_1.bin` ... `data_batch_5.bin`
  /// (training, in that order) and `test_batch.bin`.
  case cifar10 = "cifar-10"
  /// 100 classes; records of a coarse and a fine label byte + 3,072 pixels in `train.bin` and
  /// `test.bin`. The fine label is the class.
  case cifar100 = "cifar-100"

  /// Image side in pixels.
  public static let side = 32
  /// Colour channels.
  public static let channels = 3

  /// Label bytes before each record's pixels.
  var labelBytes: Int { self == .cifar10 ? 1 : 2 }
  /// Bytes per record.
  public var recordLength: Int { labelBytes + Self.channels * Self.side * Self.side }
  /// The number of classes.
  public var classes: Int { self == .cifar10 ? 10 : 100 }
  /// The training files, in the order their records are concatenated.
  public var trainFiles: [String] {
    self == .cifar10 ? (1...5).map { "data_batch_\($0).bin" } : ["train.bin"]
  }
  /// The test file.
  public var testFile: String { self == .cifar10 ? "test_batch.bin" : "test.bin" }
}

extension ImageDataset {
  /// The CIFAR dataset in `format` from the binary files in `directory` (each plain or gzipped,
  /// `.gz`), named `format.rawValue`.
  ///
  /// Checks each file's length against the record length (a whole number of records, at least
  /// one) and every label against the class count; an error names the file and says what to do,
  /// ending with `advice`.
  public static func readCIFAR(_ format: CIFARFormat, from directory: String, advice: String)
    throws(DatasetError) -> ImageDataset
  {
    var train = (images: [UInt8](), labels: [UInt8]())
    for file in format.trainFiles {
      let part = try readCIFARFile(locate(file, in: directory, advice: advice), format: format)
      train.images += part.images
      train.labels += part.labels
    }
    let test = try readCIFARFile(locate(format.testFile, in: directory, advice: advice), format: format)
    return try ImageDataset(
      name: format.rawValue, rows: CIFARFormat.side, columns: CIFARFormat.side,
      channels: CIFARFormat.channels,
      classes: format.classes, train: ImageSplit(images: train.images, labels: train.labels),
      test: ImageSplit(images: test.images, labels: test.labels))
  }

  /// Writes this dataset as `format`'s binary files in `directory` (created if needed): the
  /// training images split evenly over the training files in order, the coarse label of CIFAR-100
  /// records written as fine / 5 (the loader reads only the fine one). The dataset must be
  /// 3 × 32 × 32 with at most `format.classes` classes; the tests and the synthetic stand-ins use
  /// it so the loader is exercised end to end.
  public func writeCIFAR(_ format: CIFARFormat, to directory: String) throws(DatasetError) {
    guard channels == CIFARFormat.channels && rows == CIFARFormat.side && columns == CIFARFormat.side,
      classes <= format.classes
    else {
      throw DatasetError(
        .invalidSetting, path: directory, field: .dimensions,
        "\(name) holds \(channels) × \(rows) × \(columns) images in \(classes) classes; \(format.rawValue) records "
          + "hold 3 × 32 × 32 images in at most \(format.classes)")
    }
    if mkdir(directory, 0o755) != 0 && errno != EEXIST {
      throw DatasetError(
        .ioFailure, path: directory, field: .directory, "cannot create the folder",
        cause: SystemCallError("mkdir"))
    }
    let files = format.trainFiles
    var parts: [(String, ImageSplit, Range<Int>)] = files.indices.map { k in
      (files[k], train, (k * train.count / files.count)..<((k + 1) * train.count / files.count))
    }
    parts.append((format.testFile, test, 0..<test.count))
    let pixels = pixelsPerImage
    for (file, split, range) in parts {
      var bytes: [UInt8] = []
      bytes.reserveCapacity(range.count * format.recordLength)
      for index in range {
        let label = split.labels[index]
        bytes += format == .cifar10 ? [label] : [label / 5, label]
        bytes += split.images[(index * pixels)..<((index + 1) * pixels)]
      }
      try writeFileAtomically(bytes, to: "\(directory)/\(file)")
    }
  }

  /// The images and labels of one CIFAR file.
  private static func readCIFARFile(_ path: String, format: CIFARFormat) throws(DatasetError) -> (
    images: [UInt8], labels: [UInt8]
  ) {
    let input = try FileInput(path: path)
    var bytes: [UInt8] = []
    while true {
      let chunk = try input.readBytes(count: 1 << 22)
      bytes += chunk
      if chunk.count < 1 << 22 { break }
    }
    let record = format.recordLength
    guard !bytes.isEmpty, bytes.count % record == 0 else {
      throw DatasetError(
        .malformed, path: path, field: .size,
        "\(bytes.count) bytes is not a whole number of \(format.rawValue) records of \(record) bytes: is this "
          + "the binary version of \(format.rawValue), copied whole?")
    }
    let count = bytes.count / record
    let pixels = record - format.labelBytes
    var images = [UInt8](repeating: 0, count: count * pixels)
    var labels = [UInt8](repeating: 0, count: count)
    for index in 0..<count {
      let start = index * record
      let label = bytes[start + format.labelBytes - 1]
      guard Int(label) < format.classes else {
        throw DatasetError(
          .invalidLabels, path: path, field: .labels,
          "label \(label) of record \(index) is not one of the \(format.classes) classes: is this a file of "
            + "another dataset?")
      }
      labels[index] = label
      images.replaceSubrange(
        (index * pixels)..<((index + 1) * pixels), with: bytes[(start + format.labelBytes)..<(start + record)]
      )
    }
    return (images, labels)
  }

  /// The path of `file` in `directory`: the plain file if it exists, else the gzipped one.
  private static func locate(_ file: String, in directory: String, advice: String) throws(DatasetError)
    -> String
  {
    let plain = "\(directory)/\(file)"
    for path in [plain, plain + ".gz"] where access(path, F_OK) == 0 { return path }
    throw DatasetError(
      .missingFile, path: plain, field: .file, "neither \(file) nor \(file).gz is in \(directory): \(advice)")
  }
}
