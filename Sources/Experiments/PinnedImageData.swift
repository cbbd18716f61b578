import Datasets
import SweepModel

#if canImport(Glibc)
  import Glibc
#endif

/// Which images an image experiment reads, and the content hash the sweep pinned them to: the
/// parameters `dataset`, `data_dir` and `dataset_sha256` every image experiment shares.
///
/// The coordinator reads the dataset once and fills `dataset_sha256` in before run keys are made
/// (``resolved(_:)``), so the key names the data; a worker whose copy hashes differently refuses
/// the run, naming its host and both hashes (``loadPinned(experiment:)``), instead of computing a
/// different one.
public struct PinnedImageData: Sendable, Equatable {
  /// The named dataset (fashion-mnist).
  public var dataset = ImageDatasetName.fashionMNIST
  /// Where the IDX files are ("": the dataset's standard place).
  public var dataDirectory = ""
  /// The hex SHA-256 of the dataset the runs use ("": not pinned yet).
  public var datasetSHA256 = ""

  public init() {}

  /// Why these settings cannot work, as an error prefixed with `experiment`'s name.
  func check(experiment: String, hashParameter: String = "dataset_sha256") throws {
    if !dataDirectory.isEmpty && !dataDirectory.hasPrefix("/") {
      throw ExperimentError(
        message:
          "\(experiment): data_dir '\(dataDirectory)' must be an absolute path: every worker, wherever it runs, "
          + "reads it as given.")
    }
    if !datasetSHA256.isEmpty
      && (datasetSHA256.utf8.count != 64 || !datasetSHA256.utf8.allSatisfy { Self.isLowercaseHex($0) })
    {
      throw ExperimentError(
        message:
          "\(experiment): \(hashParameter) must be 64 lowercase hex digits (or empty), got '\(datasetSHA256)'."
      )
    }
  }

  private static func isLowercaseHex(_ byte: UInt8) -> Bool {
    (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
      || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(byte)
  }

  /// Where the dataset comes from.
  func source() throws -> DatasetSource {
    try DatasetSource.named(dataset.rawValue, dataDirectory: dataDirectory.isEmpty ? nil : dataDirectory)
  }

  /// The dataset, read once a process.
  func load() throws -> ImageDataset {
    try DatasetCache.shared.dataset(source())
  }

  /// The dataset, when its hash is the pinned one (or none is pinned); otherwise a refusal naming
  /// this host and both hashes, so the run goes to a worker with the right files.
  func loadPinned(experiment: String) throws -> ImageDataset {
    let dataset = try load()
    guard datasetSHA256.isEmpty || dataset.sha256 == datasetSHA256 else {
      throw ExperimentError(
        message:
          "\(experiment): \(description) on host \(Self.hostName()) has SHA-256 \(dataset.sha256), "
          + "but the sweep pinned \(datasetSHA256) (the coordinator's copy): give every worker the same files",
        isRefusal: true)
    }
    return dataset
  }

  /// `parameters` with `hashParameter` filled in from the dataset read here (once a process); one
  /// given in the sweep file is kept unread, so a coordinator without the files can still serve
  /// workers that have them.
  func resolved(_ parameters: Parameters, hashParameter: String = "dataset_sha256") throws -> (
    parameters: Parameters, dataset: ImageDataset?
  ) {
    guard datasetSHA256.isEmpty else { return (parameters, nil) }
    let dataset = try load()
    var resolved = parameters
    resolved[hashParameter] = .string(dataset.sha256)
    return (resolved, dataset)
  }

  /// The dataset and where it comes from, for messages.
  var description: String {
    (try? source().description) ?? dataset.rawValue
  }

  /// This machine's name, for messages that must say which worker has which files.
  static func hostName() -> String {
    var buffer = [CChar](repeating: 0, count: 256)
    guard gethostname(&buffer, buffer.count - 1) == 0 else { return "(unknown)" }
    return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
  }
}

/// The datasets image experiments read.
public enum ImageDatasetName: String, CaseIterable, Sendable {
  /// The official Fashion-MNIST IDX files (Debian's `dataset-fashion-mnist` installs them).
  case fashionMNIST = "fashion-mnist"
  /// MNIST's IDX files, from `data_dir` or `$METASWEEP_MNIST_DIR`.
  case mnist
  /// CIFAR-10's binary files, from `data_dir`.
  case cifar10 = "cifar-10"
  /// CIFAR-100's binary files, from `data_dir`.
  case cifar100 = "cifar-100"
  /// The synthetic digits of notes/meta-experiments.md, generated in memory.
  case synthDigits = "synth-digits"
  /// The synthetic gratings of notes/meta-experiments.md (Fashion-MNIST's stand-in), generated in
  /// memory.
  case synthGratings = "synth-gratings"
  /// The synthetic colour objects of notes/meta-experiments.md (CIFAR's stand-ins): 10 or 100
  /// classes, 32 × 32 or (the `-16` names) 16 × 16, generated in memory.
  case synthObjects10 = "synth-objects-10"
  case synthObjects100 = "synth-objects-100"
  case synthObjects10Small = "synth-objects-10-16"
  case synthObjects100Small = "synth-objects-100-16"
}

extension ParameterDeclaration {
  /// `dataset`, `data_dir` and `dataset_sha256`, written into the ``PinnedImageData`` at `data`.
  public static func imageData(at data: WritableKeyPath<Config, PinnedImageData> & Sendable) -> [Self] {
    [
      Self(
        ParameterDescriptor(
          "dataset", .choice(ImageDatasetName.allCases.map(\.rawValue)),
          default: .string(ImageDatasetName.fashionMNIST.rawValue),
          "Images: fashion-mnist (/usr/share/datasets/fashion-mnist), mnist (data_dir or $METASWEEP_MNIST_DIR), "
            + "cifar-10 and cifar-100 (data_dir), or synth-digits, synth-gratings and synth-objects-10/100[-16] "
            + "(generated).")
      ) { config, value in
        guard case .string(let word) = value, let name = ImageDatasetName(rawValue: word) else { return }
        config[keyPath: data].dataset = name
      },
      Self(
        ParameterDescriptor(
          "data_dir", .text, default: .string(""),
          "Absolute path of the folder holding the four IDX files (.gz or not); empty for the dataset's standard "
            + "place.")
      ) { config, value in
        guard case .string(let text) = value else { return }
        config[keyPath: data].dataDirectory = text
      },
      Self(
        ParameterDescriptor(
          "dataset_sha256", .text, default: .string(""),
          "SHA-256 of the dataset; empty to let the coordinator read its copy and pin it. Workers refuse other "
            + "data.")
      ) { config, value in
        guard case .string(let text) = value else { return }
        config[keyPath: data].datasetSHA256 = text
      },
    ]
  }
}
