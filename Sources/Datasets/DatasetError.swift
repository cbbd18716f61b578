#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// A dataset that could not be found, read or written: which file, which part of it, and what to do.
///
/// ``description`` reads `PATH: FIELD: MESSAGE`, for example
/// `/data/train-labels-idx1-ubyte: labels: 60000 labels but 59999 images in train-images-idx3-ubyte`.
/// The CLI prints it as it is; users never see a stack trace.
public struct DatasetError: Error, Sendable, CustomStringConvertible {
  /// What kind of failure this is.
  public enum Code: String, Sendable, Equatable {
    /// A dataset name this build does not know.
    case unknownDataset
    /// A dataset read from disk was given no folder to read it from (mnist without `data_dir` or
    /// `METASWEEP_MNIST_DIR`).
    case missingDirectory
    /// A file the dataset needs is not there.
    case missingFile
    /// A file exists but could not be opened, read or written (permissions, an I/O error, a full disk).
    case ioFailure
    /// The file's bytes are not the IDX file they should be: magic number, element type or
    /// dimensions.
    case malformed
    /// The file ends before the data its header announces.
    case truncated
    /// The file holds more bytes than its header announces.
    case trailingBytes
    /// The header announces more data than the file can hold (a damaged or hostile header).
    case tooLarge
    /// A gzip file that zlib cannot inflate: damaged, cut short, or not gzip after all.
    case badCompression
    /// Labels that do not fit the images: a different count, or a label that is not a class.
    case invalidLabels
    /// Two files of one dataset disagree on the image shape.
    case shapeMismatch
    /// A setting outside its domain (a negative image count, say).
    case invalidSetting
  }

  /// The part of the file or of the request that is wrong.
  public enum Field: String, Sendable, Equatable {
    /// The dataset's name.
    case name
    /// The folder the files are read from.
    case directory
    /// The file as a whole: it is missing or unreadable.
    case file
    /// The IDX magic number (two zero bytes, the element type, the dimension count).
    case magic
    /// The element type byte of the magic number.
    case type
    /// The sizes in the IDX header.
    case dimensions
    /// The length of the file, or of its content once inflated.
    case size
    /// The gzip stream.
    case compression
    /// The labels: their count or their values.
    case labels
    /// A generator's settings.
    case settings
  }

  public var code: Code
  /// The file or folder concerned, when there is one.
  public var path: String?
  public var field: Field
  /// One or two sentences: what is wrong and what to do about it.
  public var message: String
  /// The underlying error, when there is one (the system's reason a file would not open, say).
  public var cause: (any Error)?

  public init(_ code: Code, path: String?, field: Field, _ message: String, cause: (any Error)? = nil) {
    self.code = code
    self.path = path
    self.field = field
    self.message = message
    self.cause = cause
  }

  /// `PATH: FIELD: MESSAGE`, then the cause in parentheses when there is one.
  public var description: String {
    var text = path.map { "\($0): " } ?? ""
    text += "\(field.rawValue): \(message)"
    if let cause { text += " (\(cause))" }
    return text
  }
}

/// A failed system call's `errno`, described by the system (`No such file or directory`).
public struct SystemCallError: Error, Sendable, CustomStringConvertible {
  /// The call that failed (`open`, `read`, ...).
  public var call: String
  /// Its `errno`.
  public var number: Int32

  /// The current `errno` of `call`.
  init(_ call: String, number: Int32 = errno) {
    self.call = call
    self.number = number
  }

  public var description: String { "\(call): \(String(cString: strerror(number)))" }
}
