#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// A key file or allow-list folder that cannot be written, read or trusted: which file, why, and
/// what to do. Messages never contain key material.
public struct KeyFileError: Error, Sendable, Equatable, CustomStringConvertible {
  /// The kind of failure.
  public enum Code: Sendable, Hashable {
    /// The file to write exists already; keys are never overwritten.
    case alreadyExists
    /// A secret key file, or an allow-list folder, that others could read or change.
    case permissionsTooOpen
    /// The file is not in the key file format (see ``CurveKeyFile``), or its key is not valid Z85.
    case malformed
    /// A key name that is not 1–64 characters of `A-Z a-z 0-9 . _ -` starting with a letter or digit.
    case invalidName
    /// The file or folder does not exist.
    case notFound
    /// Any other failed system call, with its `errno`.
    case io(Int32)
  }

  public var code: Code
  /// The file or folder concerned.
  public var path: String
  /// One or two sentences: what is wrong with `path` and what to do.
  public var message: String

  public init(code: Code, path: String, message: String) {
    self.code = code
    self.path = path
    self.message = message
  }

  public var description: String { message }

  /// The error for the current `errno` after `operation` ("read", "create") on `path` failed.
  static func system(_ operation: String, _ path: String, errno value: Int32 = errno) -> KeyFileError {
    let reason = String(cString: strerror(value))
    switch value {
    case ENOENT:
      return KeyFileError(
        code: .notFound, path: path, message: "Cannot \(operation) \(path): no such file or folder.")
    case EEXIST:
      return KeyFileError(
        code: .alreadyExists, path: path,
        message:
          "\(path) already exists; MetaSweep never overwrites a key. Pick another name, or remove the old files first."
      )
    default:
      return KeyFileError(code: .io(value), path: path, message: "Cannot \(operation) \(path): \(reason).")
    }
  }
}
