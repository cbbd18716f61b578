#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

extension ImageDataset {
  /// The four files of an MNIST-style folder, named as MNIST and Fashion-MNIST distribute them.
  /// Each may be stored plain or gzipped, with `.gz` appended; when both are there the plain one is
  /// read.
  public enum IDXFileName: String, CaseIterable, Sendable {
    case trainImages = "train-images-idx3-ubyte"
    case trainLabels = "train-labels-idx1-ubyte"
    case testImages = "t10k-images-idx3-ubyte"
    case testLabels = "t10k-labels-idx1-ubyte"
  }

  /// The dataset in the four IDX files of `directory` (see ``IDXFileName``), called `name`.
  ///
  /// Checks each file as ``IDXFile`` does, then that each labels file has one label per image and
  /// every label is below `classes`, and that both splits have images of one shape; any failure
  /// throws a ``DatasetError`` naming the file and the field.
  public static func readIDX(name: String, from directory: String, classes: Int = 10) throws(DatasetError)
    -> ImageDataset
  {
    try readIDX(
      name: name, from: directory, classes: classes,
      advice:
        "put the four files train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte there (plain or .gz)"
    )
  }

  /// ``readIDX(name:from:classes:)``, with `advice` (what to do) ending a missing file's message.
  static func readIDX(name: String, from directory: String, classes: Int, advice: String) throws(DatasetError)
    -> ImageDataset
  {
    precondition(classes > 0 && classes <= 256, "labels are bytes: 1 to 256 classes")
    var status = stat()
    guard stat(directory, &status) == 0, (status.st_mode & S_IFMT) == S_IFDIR else {
      throw DatasetError(.missingFile, path: directory, field: .directory, "no such folder: \(advice)")
    }
    var paths: [IDXFileName: String] = [:]
    for file in IDXFileName.allCases {
      paths[file] = try locate(file, in: directory, advice: advice)
    }
    let train = try readSplit(images: paths[.trainImages]!, labels: paths[.trainLabels]!, classes: classes)
    let test = try readSplit(images: paths[.testImages]!, labels: paths[.testLabels]!, classes: classes)
    guard train.rows == test.rows && train.columns == test.columns else {
      throw DatasetError(
        .shapeMismatch, path: paths[.testImages]!, field: .dimensions,
        "images are \(test.rows) × \(test.columns) but those in \(fileName(paths[.trainImages]!)) are \(train.rows) × \(train.columns): are both from the same dataset?"
      )
    }
    return try ImageDataset(
      name: name, rows: train.rows, columns: train.columns, classes: classes, train: train.split,
      test: test.split)
  }

  /// Writes the dataset as the four IDX files of an MNIST-style folder (creating the folder if
  /// its parent exists), named as ``IDXFileName`` says with `.gz` appended when gzipped. The other
  /// form of each file, if present, is removed, so ``readIDX(name:from:classes:)`` reads what was
  /// written.
  public func writeIDX(to directory: String, compression: IDXCompression = .none) throws(DatasetError) {
    guard channels == 1 else {
      throw DatasetError(
        .invalidSetting, path: directory, field: .dimensions,
        "\(name) has \(channels) channels; IDX image files hold grey images: write it as CIFAR records")
    }
    if mkdir(directory, 0o755) != 0 && errno != EEXIST {
      throw DatasetError(
        .ioFailure, path: directory, field: .directory, "cannot create the folder",
        cause: SystemCallError("mkdir"))
    }
    let arrays: [(IDXFileName, IDXArray)] = [
      (.trainImages, IDXArray(dimensions: [train.count, rows, columns], values: train.images)),
      (.trainLabels, IDXArray(dimensions: [train.count], values: train.labels)),
      (.testImages, IDXArray(dimensions: [test.count, rows, columns], values: test.images)),
      (.testLabels, IDXArray(dimensions: [test.count], values: test.labels)),
    ]
    for (file, array) in arrays {
      let plain = "\(directory)/\(file.rawValue)"
      let path = compression == .gzip ? plain + ".gz" : plain
      try IDXFile.write(array, to: path, compression: compression)
      unlink(compression == .gzip ? plain : plain + ".gz")
    }
  }

  /// The path of `file` in `directory`: the plain file if it exists, else the gzipped one.
  private static func locate(_ file: IDXFileName, in directory: String, advice: String) throws(DatasetError)
    -> String
  {
    let plain = "\(directory)/\(file.rawValue)"
    for path in [plain, plain + ".gz"] where access(path, F_OK) == 0 { return path }
    throw DatasetError(
      .missingFile, path: plain, field: .file,
      "neither \(file.rawValue) nor \(file.rawValue).gz is in \(directory): \(advice)")
  }

  /// One split's images and labels, checked against each other.
  private static func readSplit(images imagesPath: String, labels labelsPath: String, classes: Int)
    throws(DatasetError) -> (split: ImageSplit, rows: Int, columns: Int)
  {
    let images = try IDXFile.read(.images, at: imagesPath)
    let labels = try IDXFile.read(.labels, at: labelsPath)
    guard labels.dimensions[0] == images.dimensions[0] else {
      throw DatasetError(
        .invalidLabels, path: labelsPath, field: .labels,
        "\(labels.dimensions[0]) labels but \(images.dimensions[0]) images in \(fileName(imagesPath)): copy both files again from one release"
      )
    }
    if let index = labels.values.firstIndex(where: { Int($0) >= classes }) {
      throw DatasetError(
        .invalidLabels, path: labelsPath, field: .labels,
        "label \(labels.values[index]) of image \(index) is not one of the \(classes) classes (0 to \(classes - 1)): is this the labels file of another dataset?"
      )
    }
    return (
      ImageSplit(images: images.values, labels: labels.values), images.dimensions[1], images.dimensions[2]
    )
  }

  /// The last component of `path`.
  private static func fileName(_ path: String) -> String {
    path.split(separator: "/").last.map(String.init) ?? path
  }
}
