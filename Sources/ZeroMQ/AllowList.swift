#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// The workers a coordinator lets in: a folder of `NAME.pub` files, like ssh's authorized_keys.
///
/// Each `NAME.pub` (see ``CurveKeyFile``) admits the holder of that key under the name `NAME`,
/// which the ZAP handler hands libzmq as the connection's User-Id. Files not ending in `.pub` and
/// hidden files are ignored. A `.pub` file that cannot be read or parsed, has an invalid name, or
/// repeats another file's key is skipped and listed in ``problems`` by path, so the shell can
/// report it (or refuse to start).
public struct AllowList: Sendable {
  /// One admitted key.
  public struct Entry: Sendable, Hashable {
    /// The worker's name: the file name without `.pub`.
    public var name: String
    /// The worker's public key, 40 Z85 characters.
    public var publicKey: String

    public init(name: String, publicKey: String) {
      self.name = name
      self.publicKey = publicKey
    }
  }

  /// The admitted keys, sorted by name.
  public let entries: [Entry]
  /// The `.pub` files skipped, each with its path and why, sorted by path.
  public let problems: [KeyFileError]
  private let names: [[UInt8]: String]

  /// An allow-list of `entries` (name and Z85 public key); throws on a key that is not valid Z85.
  public init(entries: [Entry]) throws(ZMQError) {
    var names: [[UInt8]: String] = [:]
    for entry in entries {
      names[try CurveKeyPair.decodeKey(entry.publicKey, role: "public")] = entry.name
    }
    self.entries = entries.sorted { $0.name < $1.name }
    self.problems = []
    self.names = names
  }

  /// Loads every `*.pub` file in `directory`.
  ///
  /// Throws when the folder cannot be listed, or when group or others may write to it (anyone who
  /// can add a file could let themselves in); a bad `.pub` file only lands in ``problems``.
  public static func load(directory: String) throws(KeyFileError) -> AllowList {
    var info = stat()
    guard stat(directory, &info) == 0 else {
      throw KeyFileError.system("open the allow-list folder", directory)
    }
    guard info.st_mode & S_IFMT == S_IFDIR else {
      throw KeyFileError(
        code: .notFound, path: directory,
        message: "\(directory) is not a folder: pass the folder that holds the workers' .pub files.")
    }
    if info.st_mode & 0o022 != 0 {
      throw KeyFileError(
        code: .permissionsTooOpen, path: directory,
        message:
          "The allow-list folder \(directory) is writable by group or others (mode \(CurveKeyFile.octal(info.st_mode & 0o7777))): anyone who can add a file could let themselves in. Run `chmod go-w \(directory)`."
      )
    }
    let folder = directory.hasSuffix("/") ? String(directory.dropLast()) : directory
    var entries: [Entry] = []
    var problems: [KeyFileError] = []
    var names: [[UInt8]: String] = [:]
    // Sorted, so which of two files with the same key wins does not depend on directory order.
    for file in try listFiles(directory).sorted() {
      let suffix = "." + CurveKeyFile.publicExtension
      guard file.hasSuffix(suffix), !file.hasPrefix(".") else { continue }
      let path = folder + "/" + file
      let name = String(file.dropLast(suffix.count))
      guard CurveKeyFile.isValidName(name) else {
        problems.append(
          KeyFileError(
            code: .invalidName, path: path,
            message:
              "\(path): '\(name)' cannot name a worker; use 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit."
          ))
        continue
      }
      do {
        let publicKey = try CurveKeyFile.loadPublicKey(path: path)
        let bytes = try Z85.decode(publicKey)
        if let other = names[bytes] {
          problems.append(
            KeyFileError(
              code: .malformed, path: path,
              message:
                "\(path) has the same key as \(other).\(CurveKeyFile.publicExtension); skipped. Keep one file per key."
            ))
          continue
        }
        names[bytes] = name
        entries.append(Entry(name: name, publicKey: publicKey))
      } catch let error as KeyFileError {
        problems.append(error)
      } catch {
        problems.append(KeyFileError(code: .malformed, path: path, message: "\(path): \(error)"))
      }
    }
    return AllowList(entries: entries, problems: problems, names: names)
  }

  private init(entries: [Entry], problems: [KeyFileError], names: [[UInt8]: String]) {
    self.entries = entries
    self.problems = problems
    self.names = names
  }

  /// The name admitted with the 32-byte public key `key`, or nil if the key is not listed.
  public func name(for key: [UInt8]) -> String? { names[key] }

  /// Whether the list admits no one.
  public var isEmpty: Bool { entries.isEmpty }

  private static func listFiles(_ directory: String) throws(KeyFileError) -> [String] {
    guard let stream = opendir(directory) else {
      throw KeyFileError.system("list the allow-list folder", directory)
    }
    defer { closedir(stream) }
    var files: [String] = []
    while let entry = readdir(stream) {
      let name = withUnsafePointer(to: &entry.pointee.d_name) {
        String(cString: UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self))
      }
      if name != "." && name != ".." { files.append(name) }
    }
    return files
  }
}
