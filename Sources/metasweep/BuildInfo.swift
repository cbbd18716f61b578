import Foundation
import TrainingCore

/// Facts about this binary that travel in the handshake and the manifest.
enum BuildInfo {
  /// The executable's GNU build id (a hash the linker writes into every ELF binary), so workers
  /// of a different build are refused; falls back to the file's size when no note is found.
  static let buildID: String = readGNUBuildID(path: executablePath) ?? fallbackID

  /// This host's machine type (``MachineType``): workers send it in their hello, and the journal
  /// keeps it with the runs each computed.
  static let machineType: String = {
    var names = utsname()
    uname(&names)
    let architecture = withUnsafeBytes(of: &names.machine) { raw in
      String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
    }
    return MachineType.describe(
      cpuinfo: (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? "",
      architecture: architecture, openBLASCore: OpenBLASCore.detected)
  }()

  /// The path of the running executable.
  static var executablePath: String {
    (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
  }

  private static var fallbackID: String {
    let size = (try? FileManager.default.attributesOfItem(atPath: executablePath)[.size] as? Int) ?? 0
    return "size-\(size)"
  }

  /// Reads the NT_GNU_BUILD_ID note from an ELF64 little-endian file's program headers.
  static func readGNUBuildID(path: String) -> String? {
    guard let file = FileHandle(forReadingAtPath: path) else { return nil }
    defer { try? file.close() }
    func read(_ offset: UInt64, _ count: Int) -> [UInt8]? {
      guard (try? file.seek(toOffset: offset)) != nil, let data = try? file.read(upToCount: count),
        data.count == count
      else { return nil }
      return [UInt8](data)
    }
    func integer(_ bytes: [UInt8], _ at: Int, _ width: Int) -> UInt64 {
      (0..<width).reduce(0) { $0 | UInt64(bytes[at + $1]) << (8 * UInt64($1)) }
    }
    guard let header = read(0, 64), header[0..<4] == [0x7f, 0x45, 0x4c, 0x46], header[4] == 2, header[5] == 1
    else { return nil }
    let programHeaders = integer(header, 32, 8)
    let entrySize = Int(integer(header, 54, 2))
    let count = Int(integer(header, 56, 2))
    guard entrySize >= 56, count < 4096 else { return nil }
    for i in 0..<count {
      guard let ph = read(programHeaders + UInt64(i * entrySize), 56) else { return nil }
      guard integer(ph, 0, 4) == 4 else { continue }  // PT_NOTE
      let offset = integer(ph, 8, 8)
      let size = Int(integer(ph, 32, 8))
      guard size < 1 << 20, let notes = read(offset, size) else { continue }
      var at = 0
      while at + 12 <= notes.count {
        let nameSize = Int(integer(notes, at, 4))
        let descSize = Int(integer(notes, at + 4, 4))
        let type = integer(notes, at + 8, 4)
        let nameStart = at + 12
        let descStart = nameStart + (nameSize + 3) / 4 * 4
        let next = descStart + (descSize + 3) / 4 * 4
        guard next <= notes.count else { break }
        if type == 3, nameSize == 4, notes[nameStart..<nameStart + 3] == [0x47, 0x4e, 0x55] {  // "GNU"
          return notes[descStart..<descStart + descSize].map { String(format: "%02x", $0) }.joined()
        }
        at = next
      }
    }
    return nil
  }

  /// `swift --version`'s first line at build time is not recorded by SwiftPM; the compiler
  /// version this binary was built with is.
  static var toolchain: String {
    #if compiler(>=6.3)
      "Swift 6.3 or later"
    #elseif compiler(>=6.2)
      "Swift 6.2"
    #else
      "Swift 6.0 or 6.1"
    #endif
  }
}
