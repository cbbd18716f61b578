import Foundation

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#endif

/// The exclusive lock a coordinator holds on its results folder while it writes the journal, so a
/// second coordinator on the same folder stops at once instead of corrupting the first one's work.
///
/// The lock is an open-file-description lock (`F_OFD_SETLK`) on `coordinator.lock` in the folder:
/// the kernel drops it when the process exits however it exits (kill -9 included), it conflicts
/// even between two opens in one process, and closing some other descriptor of the file does not
/// release it (as it would a classic POSIX lock). The file says who holds it: host, pid and since
/// when. It is never deleted: removing a lock file races with the next coordinator opening it.
public final class ResultsFolderLock {
  /// Who holds a folder's lock, as its file says.
  public struct Holder: Sendable, Equatable, CustomStringConvertible {
    /// `pid 1234 on host node7 since 2026-12-05T10:46:05Z`, or what the file held if unreadable.
    public var description: String
  }

  /// The lock file's name inside a results folder.
  public static let fileName = "coordinator.lock"

  /// The folder locked.
  public let directory: String
  private let descriptor: Int32

  /// Takes the lock on `directory` (creating the folder and the lock file if needed), or throws
  /// ``JournalError/Code/folderInUse`` naming the holder when another process has it.
  public init(directory: String, now: Date = Date()) throws {
    self.directory = directory
    do {
      try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    } catch {
      throw JournalError(
        .cannotOpen, "Cannot create the results folder \(directory). Pass --out to choose another folder.",
        cause: error)
    }
    let path = Self.path(in: directory)
    let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
    guard fd >= 0 else {
      let code = errno
      throw JournalError(
        .cannotOpen,
        "Cannot write in the results folder \(directory) (\(String(cString: strerror(code)))). "
          + "Make it writable, or pass --out to choose another folder.")
    }
    var lock = Self.writeLock()
    guard fcntl(fd, Self.setLock, &lock) == 0 else {
      let code = errno
      close(fd)
      guard code == EAGAIN || code == EACCES else {
        throw JournalError(
          .cannotOpen,
          "Cannot lock \(path) (\(String(cString: strerror(code)))). Is the folder on a local disk?")
      }
      let holder = Self.holder(of: directory).map { " (\($0))" } ?? ""
      throw JournalError(
        .folderInUse,
        "\(directory) is in use by another coordinator\(holder). Wait for it to finish or stop it, or pass "
          + "--out to choose another folder: two coordinators on one journal would undo each other's work.")
    }
    descriptor = fd
    let text = "pid \(getpid()) on host \(ProcessInfo.processInfo.hostName) since \(Self.timestamp(now))\n"
    _ = ftruncate(fd, 0)
    _ = text.utf8CString.withUnsafeBufferPointer { pwrite(fd, $0.baseAddress, $0.count - 1, 0) }
  }

  deinit {
    // Closing the descriptor releases the lock; the file stays (see the type's documentation).
    close(descriptor)
  }

  /// Who holds the lock on `directory`, or nil when nobody does (no coordinator is writing it).
  public static func holder(of directory: String) -> Holder? {
    let fd = open(path(in: directory), O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var lock = writeLock()
    guard fcntl(fd, getLock, &lock) == 0, lock.l_type != Int16(F_UNLCK) else { return nil }
    var buffer = [UInt8](repeating: 0, count: 512)
    let count = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
    let text = String(decoding: buffer.prefix(max(count, 0)), as: UTF8.self)
      .trimmingCharacters(in: .whitespacesAndNewlines)
    return Holder(description: text.isEmpty ? "holder unknown" : text)
  }

  private static func path(in directory: String) -> String { directory + "/" + fileName }

  /// A write lock on the whole file.
  private static func writeLock() -> flock {
    var lock = flock()
    lock.l_type = Int16(F_WRLCK)
    lock.l_whence = Int16(SEEK_SET)
    lock.l_start = 0
    lock.l_len = 0
    lock.l_pid = 0  // open-file-description locks require 0
    return lock
  }

  // Linux's F_OFD_GETLK and F_OFD_SETLK (fcntl.h, under _GNU_SOURCE, which Swift's Glibc module
  // does not import).
  private static let getLock: Int32 = 36
  private static let setLock: Int32 = 37

  private static func timestamp(_ date: Date) -> String {
    let formatter = ISO8601DateFormatter()
    formatter.formatOptions = [.withInternetDateTime]
    return formatter.string(from: date)
  }

  /// The part of a Foundation error a user needs ("Permission denied", "The volume is read only"),
  /// not its domain and code.
  static func reason(_ error: any Error) -> String {
    let nsError = error as NSError
    if let underlying = nsError.userInfo[NSUnderlyingErrorKey] as? NSError,
      underlying.domain == NSPOSIXErrorDomain
    {
      return String(cString: strerror(Int32(underlying.code)))
    }
    if nsError.domain == NSPOSIXErrorDomain { return String(cString: strerror(Int32(nsError.code))) }
    var text = nsError.localizedDescription
    for filler in ["The operation could not be completed. ", "The operation couldn’t be completed. "] {
      if text.hasPrefix(filler), text.count > filler.count { text.removeFirst(filler.count) }
    }
    while text.hasSuffix(".") { text.removeLast() }
    return text
  }
}
