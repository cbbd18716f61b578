import Foundation
import SweepModel

/// A user's program's files as one byte string: for each file, in order, its name as given (a
/// path relative to the program's folder, or absolute), a newline, its size in decimal, a
/// newline, and its bytes. Its SHA-256 is the program's identity (`program_sha256`), and it is
/// what the coordinator ships to workers without a shared filesystem, which unpack it into a
/// folder of their own (``unpacked(_:sha256:)``).
enum ProgramBundle {
  /// `files` (name, bytes) as a bundle.
  static func encode(_ files: [(name: String, bytes: [UInt8])]) -> [UInt8] {
    var out: [UInt8] = []
    for file in files { out += Array("\(file.name)\n\(file.bytes.count)\n".utf8) + file.bytes }
    return out
  }

  /// The files of `bundle`, or throws ``ExperimentError`` when it is not one whose names can be
  /// unpacked safely (relative, without `..`, each once).
  static func decode(_ bundle: [UInt8]) throws -> [(name: String, bytes: [UInt8])] {
    var files: [(name: String, bytes: [UInt8])] = []
    var names = Set<String>()
    var index = 0
    func line() throws -> String {
      guard let end = bundle[index...].firstIndex(of: UInt8(ascii: "\n")),
        let text = String(validating: bundle[index..<end], as: UTF8.self)
      else { throw ExperimentError(message: "command: the shipped program is damaged (a name or size)") }
      index = end + 1
      return text
    }
    while index < bundle.count {
      let name = try line()
      guard let size = Int(try line()), size >= 0, size <= bundle.count - index else {
        throw ExperimentError(message: "command: the shipped program is damaged (the size of \(name))")
      }
      guard isRelative(name), names.insert(name).inserted else {
        throw ExperimentError(
          message:
            "command: a shipped program's files must be named by distinct relative paths without '..', "
            + "got '\(name)'")
      }
      files.append((name, Array(bundle[index..<index + size])))
      index += size
    }
    return files
  }

  /// Whether `path` names a place inside a folder: relative, no empty, `.` or `..` component.
  static func isRelative(_ path: String) -> Bool {
    !path.hasPrefix("/")
      && path.split(separator: "/", omittingEmptySubsequences: false).allSatisfy {
        !$0.isEmpty && $0 != "." && $0 != ".."
      }
  }

  /// The folder holding the files of `bundle` (whose SHA-256 is `sha256`, checked by the caller),
  /// unpacked once per host and account under the temporary folder, in a folder only this account
  /// may enter (another could otherwise put a program of its own there), and shared by every run
  /// of it. Files are readable and executable by their owner.
  static func unpacked(_ bundle: [UInt8], sha256: String) throws -> String {
    let root = FileManager.default.temporaryDirectory.appendingPathComponent("metasweep-programs-\(getuid())")
    try? FileManager.default.createDirectory(
      at: root, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
    let attributes = try? FileManager.default.attributesOfItem(atPath: root.path)
    guard let owner = (attributes?[.ownerAccountID] as? NSNumber)?.uint32Value, owner == getuid(),
      let mode = (attributes?[.posixPermissions] as? NSNumber)?.intValue, mode & 0o077 == 0
    else {
      throw ExperimentError(
        message: "command: \(root.path) must be a folder of this account that no other may enter (mode 700)")
    }
    let folder = root.appendingPathComponent(sha256).path
    if FileManager.default.fileExists(atPath: folder) { return folder }
    let files = try decode(bundle)
    // Unpacked beside it, then renamed into place: a run never sees half a program, and two slots
    // unpacking at once both end with the same folder.
    let staging = root.appendingPathComponent(".\(sha256)-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: staging) }
    do {
      try FileManager.default.createDirectory(at: staging, withIntermediateDirectories: true)
      for file in files {
        let target = staging.appendingPathComponent(file.name)
        try FileManager.default.createDirectory(
          at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(file.bytes).write(to: target)
        try FileManager.default.setAttributes([.posixPermissions: 0o700], ofItemAtPath: target.path)
      }
      if rename(staging.path, folder) != 0 && !FileManager.default.fileExists(atPath: folder) {
        throw ExperimentError(message: "command: cannot unpack the shipped program into \(folder)")
      }
    } catch let error as ExperimentError {
      throw error
    } catch {
      throw ExperimentError(message: "command: cannot unpack the shipped program into \(root.path): \(error)")
    }
    return folder
  }
}
