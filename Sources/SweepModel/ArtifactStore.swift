import Foundation

/// The files runs made, kept beside a results folder's journal: one file per distinct content, named
/// by its SHA-256 (`artifacts/ab/abcdef…`), written once and checked against its name on every read.
///
/// Storing is idempotent: content already present intact is not written again, so a hundred runs
/// that make the same bytes cost one file. A write goes to a temporary file in the same folder,
/// which is flushed to disk and renamed over the final name, so a reader never sees half a file and
/// a crash leaves at worst a stray temporary file (named `.tmp-…`, never read).
public struct ArtifactStore: Sendable {
  /// The store's folder (`<results>/artifacts`).
  public let folder: String

  /// The store in `folder`, which is created on the first write.
  public init(folder: String) { self.folder = folder }

  /// The store of the results folder whose journal is at `journalPath`.
  public init(journalPath: String) {
    let results = (journalPath as NSString).deletingLastPathComponent
    self.init(folder: ((results.isEmpty ? "." : results) as NSString).appendingPathComponent("artifacts"))
  }

  /// What identifies stored content: its SHA-256 (lower-case hex) and size.
  public struct Reference: Sendable, Hashable, CustomStringConvertible {
    public var sha256: String
    public var size: Int

    public init(sha256: String, size: Int) {
      self.sha256 = sha256
      self.size = size
    }

    /// The reference of `bytes`.
    public init(of bytes: [UInt8]) {
      self.init(sha256: SHA256.hexString(SHA256.digest(bytes)), size: bytes.count)
    }

    /// `sha256:1a2b3c4d5e6f (1234 bytes)`.
    public var description: String { "sha256:\(sha256.prefix(12)) (\(size) bytes)" }
  }

  /// The file that holds the content with SHA-256 `sha256`.
  public func path(of sha256: String) -> String {
    "\(folder)/\(sha256.prefix(2))/\(sha256)"
  }

  /// Stores `bytes` unless an intact copy is there already (a damaged copy is replaced) and returns
  /// their reference. Throws ``ArtifactStoreError`` naming the file when the disk refuses.
  @discardableResult
  public func store(_ bytes: [UInt8]) throws -> Reference {
    let reference = Reference(of: bytes)
    guard problem(with: reference) != nil else { return reference }
    let target = path(of: reference.sha256)
    let directory = (target as NSString).deletingLastPathComponent
    let temporary = "\(directory)/.tmp-\(reference.sha256.prefix(16))-\(UUID().uuidString)"
    do {
      try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
      try Self.writeDurably(bytes, to: temporary)
      guard rename(temporary, target) == 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
    } catch {
      unlink(temporary)
      throw ArtifactStoreError(
        isDamage: false,
        message:
          "Cannot store an artifact at \(target): is the folder writable, and the disk not full? (\(error))")
    }
    return reference
  }

  /// The bytes of `reference`, checked: throws an error (``ArtifactStoreError/isDamage``) naming the file and what is wrong
  /// (missing, another size, another checksum), so damaged content is never used.
  public func read(_ reference: Reference) throws -> [UInt8] {
    let file = path(of: reference.sha256)
    guard let data = FileManager.default.contents(atPath: file) else {
      throw ArtifactStoreError(
        isDamage: true, message: "The artifact \(file) is missing: `metasweep resume` runs its run again.")
    }
    let bytes = [UInt8](data)
    if let problem = Self.problem(of: bytes, against: reference) {
      throw ArtifactStoreError(
        isDamage: true, message: "The artifact \(file) \(problem): `metasweep resume` runs its run again.")
    }
    return bytes
  }

  /// What is wrong with the stored copy of `reference` ("is missing", "has 10 bytes, not 12", "does
  /// not match its SHA-256"), or nil when it is intact.
  public func problem(with reference: Reference) -> String? {
    guard let data = FileManager.default.contents(atPath: path(of: reference.sha256)) else {
      return "is missing"
    }
    return Self.problem(of: [UInt8](data), against: reference)
  }

  private static func problem(of bytes: [UInt8], against reference: Reference) -> String? {
    if bytes.count != reference.size { return "has \(bytes.count) bytes, not \(reference.size)" }
    if SHA256.hexString(SHA256.digest(bytes)) != reference.sha256 { return "does not match its SHA-256" }
    return nil
  }

  /// Writes `bytes` to a new file at `path` and flushes it to the disk.
  private static func writeDurably(_ bytes: [UInt8], to path: String) throws {
    let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
    guard descriptor >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
    defer { close(descriptor) }
    var written = 0
    while written < bytes.count {
      let result = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress! + written, $0.count - written) }
      if result < 0 {
        if errno == EINTR { continue }
        throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO)
      }
      written += result
    }
    guard fsync(descriptor) == 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
  }
}

/// A store that cannot keep or give back an artifact: the message names the file and what to do.
public struct ArtifactStoreError: Error, Sendable, CustomStringConvertible {
  /// Whether the stored copy is missing or damaged (rather than the disk refusing a write).
  public var isDamage: Bool
  public var message: String
  public init(isDamage: Bool, message: String) {
    self.isDamage = isDamage
    self.message = message
  }
  public var description: String { message }
}
