#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Where a named dataset comes from: a folder of IDX files on this machine, or a generator and its
/// settings. Nothing is ever downloaded.
public enum DatasetSource: Hashable, Sendable, CustomStringConvertible {
  /// Fashion-MNIST (Xiao, Rasul and Vollgraf 2017; 10 classes of clothing, 60,000 + 10,000 images
  /// of 28 × 28) from the four IDX files in `directory`, plain or gzipped. Debian's
  /// `dataset-fashion-mnist` (installed by `tools/setup`) puts them, gzipped, in
  /// ``defaultFashionMNISTDirectory``.
  case fashionMNIST(directory: String)
  /// MNIST (LeCun, Cortes and Burges; 10 digits, 60,000 + 10,000 images of 28 × 28) from the four
  /// IDX files in `directory`, plain or gzipped. It cannot be downloaded here: the user copies it.
  case mnist(directory: String)
  /// CIFAR-10 or CIFAR-100 (Krizhevsky 2009; 32 × 32 colour, 50,000 + 10,000 images) from their
  /// binary files in `directory` (``CIFARFormat``). The user copies them: nothing is downloaded.
  case cifar(CIFARFormat, directory: String)
  /// ``SynthDigits``, generated from its settings.
  case synthDigits(SynthImageSettings)
  /// ``SynthGratings``, generated from its settings.
  case synthGratings(SynthImageSettings)
  /// ``SynthObjects`` with 10 or 100 classes, generated from its settings.
  case synthObjects(classes: Int, SynthImageSettings)

  /// The names ``named(_:dataDirectory:environment:)`` knows.
  public static let names =
    ["fashion-mnist", "mnist"] + CIFARFormat.allCases.map(\.rawValue) + [
      SynthDigits.name, SynthGratings.name,
    ]
    + SynthObjects.names
  /// Where Debian's `dataset-fashion-mnist` installs Fashion-MNIST.
  public static let defaultFashionMNISTDirectory = "/usr/share/datasets/fashion-mnist"
  /// The environment variable naming MNIST's folder when no `dataDirectory` is given.
  public static let mnistDirectoryVariable = "METASWEEP_MNIST_DIR"

  /// The dataset a sweep asks for by `name`, with its folder looked up in this order:
  /// 1. `dataDirectory` (the experiment's `data_dir` parameter), when given and not empty;
  /// 2. for `mnist`, the environment variable ``mnistDirectoryVariable`` when set and not empty;
  /// 3. for `fashion-mnist`, ``defaultFashionMNISTDirectory``.
  ///
  /// `mnist` with neither 1 nor 2 throws ``DatasetError/Code/missingDirectory``; `synth-digits`
  /// and `synth-gratings` (default ``SynthImageSettings``) with a `dataDirectory` throw
  /// ``DatasetError/Code/invalidSetting``, since it is generated, not read. `environment` is a
  /// parameter so tests need not change the process's.
  public static func named(_ name: String, dataDirectory: String? = nil, environment: [String: String])
    throws(DatasetError) -> DatasetSource
  {
    let given = dataDirectory.flatMap { $0.isEmpty ? nil : $0 }
    switch name {
    case "fashion-mnist":
      return .fashionMNIST(directory: given ?? defaultFashionMNISTDirectory)
    case "mnist":
      if let directory = given ?? environment[mnistDirectoryVariable].flatMap({ $0.isEmpty ? nil : $0 }) {
        return .mnist(directory: directory)
      }
      throw DatasetError(
        .missingDirectory, path: nil, field: .directory,
        "mnist is read from disk and cannot be downloaded here: pass data_dir or set \(mnistDirectoryVariable) to a folder holding train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte (plain or .gz)"
      )
    case CIFARFormat.cifar10.rawValue, CIFARFormat.cifar100.rawValue:
      let format = CIFARFormat(rawValue: name)!
      guard let directory = given else {
        throw DatasetError(
          .missingDirectory, path: nil, field: .directory,
          "\(name) is read from disk and cannot be downloaded here: pass data_dir, the folder holding "
            + (format.trainFiles + [format.testFile]).joined(separator: ", ")
            + " (the binary version, plain or .gz)")
      }
      return .cifar(format, directory: directory)
    case SynthDigits.name, SynthGratings.name:
      guard given == nil else {
        throw DatasetError(
          .invalidSetting, path: given, field: .directory,
          "\(name) is generated, not read from a folder: leave data_dir out")
      }
      return name == SynthDigits.name
        ? .synthDigits(SynthImageSettings()) : .synthGratings(SynthImageSettings())
    case _ where SynthObjects.settings(named: name) != nil:
      guard given == nil else {
        throw DatasetError(
          .invalidSetting, path: given, field: .directory,
          "\(name) is generated, not read from a folder: leave data_dir out")
      }
      let (classes, settings) = SynthObjects.settings(named: name)!
      return .synthObjects(classes: classes, settings)
    default:
      throw DatasetError(
        .unknownDataset, path: nil, field: .name,
        "no dataset is called '\(name)': choose one of \(names.joined(separator: ", "))")
    }
  }

  /// ``named(_:dataDirectory:environment:)`` with this process's environment.
  public static func named(_ name: String, dataDirectory: String? = nil) throws(DatasetError) -> DatasetSource
  {
    var environment: [String: String] = [:]
    if let value = getenv(mnistDirectoryVariable) {
      environment[mnistDirectoryVariable] = String(cString: value)
    }
    return try named(name, dataDirectory: dataDirectory, environment: environment)
  }

  /// The dataset's name.
  public var name: String {
    switch self {
    case .fashionMNIST: "fashion-mnist"
    case .mnist: "mnist"
    case .cifar(let format, _): format.rawValue
    case .synthDigits: SynthDigits.name
    case .synthGratings: SynthGratings.name
    case .synthObjects(let classes, let settings): SynthObjects.name(classes: classes, side: settings.side)
    }
  }

  /// The name and where it comes from, for logs: `mnist from /data/mnist`.
  public var description: String {
    switch self {
    case .fashionMNIST(let directory), .mnist(let directory), .cifar(_, let directory):
      "\(name) from \(directory)"
    case .synthDigits(let settings), .synthGratings(let settings), .synthObjects(_, let settings):
      "\(name) (seed \(settings.seed), \(settings.trainCount) + \(settings.testCount) images of \(settings.side) × \(settings.side))"
    }
  }

  /// Reads or generates the dataset (every time; ``DatasetCache`` keeps one per process).
  public func load() throws(DatasetError) -> ImageDataset {
    switch self {
    case .fashionMNIST(let directory):
      let advice =
        directory == Self.defaultFashionMNISTDirectory
        ? "run tools/setup, which installs Debian's dataset-fashion-mnist, or pass data_dir"
        : "copy Fashion-MNIST's four files there (plain or .gz), or leave data_dir out to read \(Self.defaultFashionMNISTDirectory)"
      return try ImageDataset.readIDX(name: name, from: directory, classes: 10, advice: advice)
    case .mnist(let directory):
      return try ImageDataset.readIDX(
        name: name, from: directory, classes: 10,
        advice:
          "MNIST cannot be downloaded here: copy its four files there (plain or .gz), or point data_dir or \(Self.mnistDirectoryVariable) at the folder that holds them"
      )
    case .cifar(let format, let directory):
      return try ImageDataset.readCIFAR(
        format, from: directory,
        advice:
          "\(format.rawValue) cannot be downloaded here: copy the binary version's files there (plain or .gz)"
      )
    case .synthDigits(let settings):
      return try SynthDigits.makeDataset(settings)
    case .synthGratings(let settings):
      return try SynthGratings.makeDataset(settings)
    case .synthObjects(let classes, let settings):
      return try SynthObjects.makeDataset(classes: classes, settings)
    }
  }

  /// The same source with its folder resolved (symbolic links, `.`, `..`, trailing slashes), so
  /// two spellings of one folder are one cache entry. A folder that does not resolve is kept as
  /// given; loading it will say what is wrong.
  var resolved: DatasetSource {
    func resolve(_ directory: String) -> String {
      guard let real = realpath(directory, nil) else { return directory }
      defer { free(real) }
      return String(cString: real)
    }
    switch self {
    case .fashionMNIST(let directory): return .fashionMNIST(directory: resolve(directory))
    case .mnist(let directory): return .mnist(directory: resolve(directory))
    case .cifar(let format, let directory): return .cifar(format, directory: resolve(directory))
    case .synthDigits, .synthGratings, .synthObjects: return self
    }
  }
}
