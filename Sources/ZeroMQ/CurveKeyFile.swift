#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// Reads and writes CURVE key files: `NAME.key` (the secret, mode 0600) and `NAME.pub` (the
/// public half, mode 0644, the file that goes into a coordinator's allow-list folder).
///
/// ## Format
/// UTF-8 text, one entry per line. Blank lines and lines whose first non-blank character is `#` are
/// comments. Every other line is `field = "VALUE"` (spaces around `=` optional), where VALUE is a
/// 40-character Z85 key. The fields are `public-key` and `secret-key`; each may appear at most
/// once, and any other line makes the file malformed. Files are at most 64 KiB.
///
/// ```
/// # MetaSweep CURVE public key "worker-a". Put this file in the coordinator's allow-list folder.
/// public-key = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"
/// ```
/// A `.key` file holds `secret-key` and, for convenience, the matching `public-key` (checked on
/// load). A `.pub` file holds only `public-key`; one that contains a secret key is refused.
///
/// ## Permissions
/// The secret file is created with mode 0600 by `open(O_CREAT | O_EXCL)` under a temporary name,
/// filled, flushed, then hard-linked to `NAME.key`, so it is never readable by others, never seen
/// half-written, and never replaces an existing file. Loading a secret file that group or others
/// may read or write is refused, as ssh does.
public enum CurveKeyFile {
  /// The secret key file's extension.
  public static let secretExtension = "key"
  /// The public key file's extension; an allow-list folder holds these.
  public static let publicExtension = "pub"
  /// The largest key file read.
  static let maxFileSize = 64 * 1024

  /// Where ``write(_:name:directory:)`` puts the files for `name`.
  public static func paths(name: String, directory: String) -> (secret: String, public: String) {
    let folder = directory.hasSuffix("/") ? String(directory.dropLast()) : directory
    let base = (folder.isEmpty ? "." : folder) + "/" + name
    return (base + "." + secretExtension, base + "." + publicExtension)
  }

  /// Whether `name` can name a key: 1–64 characters of `A-Z a-z 0-9 . _ -`, starting with a
  /// letter or digit (it becomes a file name and the ZAP user id).
  public static func isValidName(_ name: String) -> Bool {
    let characters = Array(name.utf8)
    guard (1...64).contains(characters.count) else { return false }
    func isAlphanumeric(_ c: UInt8) -> Bool {
      (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A)
    }
    guard isAlphanumeric(characters[0]) else { return false }
    return characters.allSatisfy { isAlphanumeric($0) || $0 == 0x2E || $0 == 0x5F || $0 == 0x2D }
  }

  // MARK: Writing

  /// Writes `keyPair` as `directory/NAME.key` (mode 0600) and `directory/NAME.pub` (mode 0644), and
  /// returns both paths. Refuses, changing nothing, when either file exists.
  @discardableResult
  public static func write(_ keyPair: CurveKeyPair, name: String, directory: String) throws(KeyFileError)
    -> (secret: String, public: String)
  {
    try checkName(name)
    let paths = paths(name: name, directory: directory)
    for path in [paths.secret, paths.public] {
      var info = stat()
      if lstat(path, &info) == 0 { throw KeyFileError.system("create", path, errno: EEXIST) }
    }
    let secretText = """
      # MetaSweep CURVE secret key "\(name)". Keep this file private (mode 0600) and on this host.
      # Its public half is \(name).\(publicExtension): that file goes in the coordinator's allow-list folder.
      public-key = "\(keyPair.publicKey)"
      secret-key = "\(keyPair.secretKey)"

      """
    try createExclusively(paths.secret, contents: Array(secretText.utf8), mode: 0o600)
    do {
      try createExclusively(paths.public, contents: publicText(keyPair.publicKey, name: name), mode: 0o644)
    } catch {
      // Leave nothing half-done: without its public half the secret is of no use.
      unlink(paths.secret)
      throw error
    }
    return paths
  }

  /// Writes only the public key `publicKey` as `directory/NAME.pub` (mode 0644), as
  /// ``write(_:name:directory:)`` writes it (a server's public key for its clients), and returns
  /// the path. Refuses, changing nothing, when the file exists.
  @discardableResult
  public static func writePublic(_ publicKey: String, name: String, directory: String) throws(KeyFileError)
    -> String
  {
    try checkName(name)
    let path = paths(name: name, directory: directory).public
    try createExclusively(path, contents: publicText(publicKey, name: name), mode: 0o644)
    return path
  }

  /// Throws unless `name` ``isValidName(_:)``.
  private static func checkName(_ name: String) throws(KeyFileError) {
    guard isValidName(name) else {
      throw KeyFileError(
        code: .invalidName, path: name,
        message:
          "'\(name)' cannot name a key: use 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit."
      )
    }
  }

  private static func publicText(_ publicKey: String, name: String) -> [UInt8] {
    Array(
      """
      # MetaSweep CURVE public key "\(name)". Put this file in the coordinator's allow-list folder to let \(name) in.
      public-key = "\(publicKey)"

      """.utf8)
  }

  /// Creates `path` with `contents` and `mode`, never replacing an existing file and never
  /// exposing the file with a wider mode or half its contents.
  private static func createExclusively(_ path: String, contents: [UInt8], mode: mode_t) throws(KeyFileError)
  {
    let slash = path.lastIndex(of: "/")
    let folder = slash.map { String(path[..<$0]) } ?? "."
    let file = slash.map { String(path[path.index(after: $0)...]) } ?? path
    let temporary = "\(folder)/.\(file).\(getpid()).\(UInt32.random(in: 0...UInt32.max)).tmp"
    try writeNewFile(temporary, contents: contents, mode: mode)
    defer { unlink(temporary) }
    if link(temporary, path) == 0 {
      syncFolder(folder)
      return
    }
    let linkError = errno
    switch linkError {
    case EEXIST:
      throw KeyFileError.system("create", path, errno: EEXIST)
    case EPERM, ENOTSUP, EOPNOTSUPP, EXDEV, EMLINK, ENOSYS:
      // A file system without hard links: O_EXCL alone still never replaces a file and never
      // widens the mode, at the cost of a partly written file if we are killed mid-write.
      try writeNewFile(path, contents: contents, mode: mode)
      syncFolder(folder)
    default:
      throw KeyFileError.system("create", path, errno: linkError)
    }
  }

  private static func writeNewFile(_ path: String, contents: [UInt8], mode: mode_t) throws(KeyFileError) {
    let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode)
    guard descriptor >= 0 else { throw KeyFileError.system("create", path) }
    var failure: KeyFileError?
    // The umask can only narrow the mode open() applied; fchmod makes a .pub 0644 even under umask 077.
    if fchmod(descriptor, mode) != 0 { failure = .system("set the mode of", path) }
    var written = 0
    while failure == nil && written < contents.count {
      let count = contents.withUnsafeBytes { buffer in
        systemWrite(descriptor, buffer.baseAddress! + written, buffer.count - written)
      }
      if count < 0 {
        if errno == EINTR { continue }
        failure = .system("write", path)
      } else {
        written += count
      }
    }
    if failure == nil && fsync(descriptor) != 0 { failure = .system("flush", path) }
    if close(descriptor) != 0 && failure == nil { failure = .system("close", path) }
    if let failure {
      unlink(path)
      throw failure
    }
  }

  private static func syncFolder(_ folder: String) {
    let descriptor = open(folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    guard descriptor >= 0 else { return }
    fsync(descriptor)
    close(descriptor)
  }

  // MARK: Reading

  /// Loads the key pair in the secret key file `path` (a `NAME.key`).
  ///
  /// Refuses a file that group or others may access (mode & 0o077 ≠ 0), telling the user to
  /// `chmod 600` it, and a file whose `public-key` does not match its `secret-key`.
  public static func loadKeyPair(path: String) throws(KeyFileError) -> CurveKeyPair {
    let (bytes, mode) = try readSmallFile(path)
    if mode & 0o077 != 0 {
      throw KeyFileError(
        code: .permissionsTooOpen, path: path,
        message:
          "Permissions \(octal(mode)) for \(path) are too open: a secret key must not be accessible by group or others. Run `chmod 600 \(path)`."
      )
    }
    let fields = try parse(bytes, path: path)
    guard let secret = fields.secret else {
      throw KeyFileError(
        code: .malformed, path: path,
        message:
          "\(path) has no secret-key line. Is it a .pub file? Pass the NAME.key written by `metasweep keys generate`."
      )
    }
    do {
      if let publicKey = fields.public {
        return try CurveKeyPair(publicKey: publicKey, secretKey: secret)
      }
      return try CurveKeyPair(secretKey: secret)
    } catch {
      throw KeyFileError(code: .malformed, path: path, message: "\(path): \(error.message)")
    }
  }

  /// Loads the public key (Z85) in the public key file `path` (a `NAME.pub`). Refuses one that
  /// contains a secret key.
  public static func loadPublicKey(path: String) throws(KeyFileError) -> String {
    let (bytes, _) = try readSmallFile(path)
    let fields = try parse(bytes, path: path)
    guard fields.secret == nil else {
      throw KeyFileError(
        code: .malformed, path: path,
        message:
          "\(path) contains a secret key: a public key file must hold only public-key. Delete it, and give out only the .pub file."
      )
    }
    guard let publicKey = fields.public else {
      throw KeyFileError(
        code: .malformed, path: path,
        message: "\(path) has no public-key line; write it with `metasweep keys generate`.")
    }
    do {
      _ = try CurveKeyPair.decodeKey(publicKey, role: "public")
    } catch {
      throw KeyFileError(code: .malformed, path: path, message: "\(path): \(error.message)")
    }
    return publicKey
  }

  /// The fields of a key file. Error messages give the line number, never the line.
  static func parse(_ bytes: [UInt8], path: String) throws(KeyFileError) -> (public: String?, secret: String?)
  {
    func malformed(_ why: String) -> KeyFileError {
      KeyFileError(
        code: .malformed, path: path,
        message:
          "\(path) is not a MetaSweep key file: \(why). Expected lines like public-key = \"<40 Z85 characters>\"."
      )
    }
    var publicKey: String?
    var secretKey: String?
    for (index, rawLine) in bytes.split(separator: 0x0A, omittingEmptySubsequences: false).enumerated() {
      let line = String(decoding: rawLine, as: UTF8.self).trimmingSpaces()
      if line.isEmpty || line.hasPrefix("#") { continue }
      guard let equals = line.firstIndex(of: "=") else { throw malformed("line \(index + 1) has no '='") }
      let field = String(line[..<equals]).trimmingSpaces()
      let value = String(line[line.index(after: equals)...]).trimmingSpaces()
      guard value.count >= 2, value.hasPrefix("\""), value.hasSuffix("\"") else {
        throw malformed("the value on line \(index + 1) is not in double quotes")
      }
      let key = String(value.dropFirst().dropLast())
      switch field {
      case "public-key":
        guard publicKey == nil else { throw malformed("public-key appears twice") }
        publicKey = key
      case "secret-key":
        guard secretKey == nil else { throw malformed("secret-key appears twice") }
        secretKey = key
      default:
        throw malformed("line \(index + 1) sets an unknown field")
      }
    }
    return (publicKey, secretKey)
  }

  /// The contents (at most ``maxFileSize`` bytes) and permission bits of the regular file `path`.
  private static func readSmallFile(_ path: String) throws(KeyFileError) -> ([UInt8], mode_t) {
    let descriptor = open(path, O_RDONLY | O_CLOEXEC)
    guard descriptor >= 0 else { throw KeyFileError.system("open", path) }
    defer { close(descriptor) }
    var info = stat()
    guard fstat(descriptor, &info) == 0 else { throw KeyFileError.system("inspect", path) }
    guard info.st_mode & S_IFMT == S_IFREG else {
      throw KeyFileError(code: .malformed, path: path, message: "\(path) is not a regular file.")
    }
    guard info.st_size <= maxFileSize else {
      throw KeyFileError(
        code: .malformed, path: path,
        message: "\(path) is \(info.st_size) bytes, too big for a key file (at most 64 KiB).")
    }
    var bytes = [UInt8](repeating: 0, count: maxFileSize + 1)
    var total = 0
    while total < bytes.count {
      let count = bytes.withUnsafeMutableBytes { buffer in
        read(descriptor, buffer.baseAddress! + total, buffer.count - total)
      }
      if count < 0 {
        if errno == EINTR { continue }
        throw KeyFileError.system("read", path)
      }
      if count == 0 { break }
      total += count
    }
    guard total <= maxFileSize else {
      throw KeyFileError(
        code: .malformed, path: path, message: "\(path) is too big for a key file (at most 64 KiB).")
    }
    return (Array(bytes[..<total]), info.st_mode & 0o7777)
  }

  static func octal(_ mode: mode_t) -> String {
    var digits = String(mode, radix: 8)
    while digits.count < 4 { digits = "0" + digits }
    return digits
  }
}

/// POSIX `write`, named apart from ``CurveKeyFile/write(_:name:directory:)``.
private func systemWrite(_ descriptor: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int {
  write(descriptor, buffer, count)
}

extension String {
  /// The string without leading and trailing spaces, tabs and carriage returns.
  fileprivate func trimmingSpaces() -> String {
    let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\r" }
    guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) })
    else {
      return ""
    }
    return String(self[first...last])
  }
}
