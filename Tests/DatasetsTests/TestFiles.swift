import Datasets
import Foundation
import Testing

/// A new empty folder under the system's temporary folder.
func makeTemporaryDirectory(_ label: String) throws -> String {
  let path = FileManager.default.temporaryDirectory.appendingPathComponent(
    "metasweep-\(label)-\(UUID().uuidString)"
  )
  .path
  try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
  return path
}

/// Removes a folder made by ``makeTemporaryDirectory(_:)`` and everything in it.
func removeDirectory(_ path: String) {
  try? FileManager.default.removeItem(atPath: path)
}

/// The bytes of an IDX file written by hand, independently of ``IDXFile/write(_:to:compression:)``:
/// the 4-byte magic and each size big-endian, then `values`.
func idxBytes(magic: UInt32, dimensions: [Int], values: [UInt8]) -> [UInt8] {
  var bytes: [UInt8] = []
  for word in [Int(magic)] + dimensions {
    bytes += [24, 16, 8, 0].map { UInt8(truncatingIfNeeded: word >> $0) }
  }
  return bytes + values
}

/// Writes `bytes` to `path`.
func writeFile(_ path: String, _ bytes: [UInt8]) {
  precondition(FileManager.default.createFile(atPath: path, contents: Data(bytes)), "cannot write \(path)")
}

/// The bytes of the file at `path`.
func readFile(_ path: String) -> [UInt8] {
  [UInt8](FileManager.default.contents(atPath: path) ?? Data())
}

/// Gzips `path` into `path.gz` with the system's `gzip`, independently of the writer's zlib calls;
/// keeps the original.
func gzipWithSystemTool(_ path: String) throws {
  let process = Process()
  process.executableURL = URL(fileURLWithPath: "/bin/gzip")
  process.arguments = ["-k", "-f", "-9", path]
  try process.run()
  process.waitUntilExit()
  precondition(process.terminationStatus == 0, "gzip failed")
}

/// A small MNIST-shaped folder: `count` training and `count / 2` test images of 4 × 3 pixels,
/// pixel (index + row + column) mod 256, label index mod 10; its four plain files, written by hand.
func writeTinyIDXFolder(_ directory: String, count: Int = 12) {
  func images(_ n: Int) -> [UInt8] {
    (0..<n).flatMap { index in
      (0..<4).flatMap { row in (0..<3).map { column in UInt8((index + row + column) % 256) } }
    }
  }
  func labels(_ n: Int) -> [UInt8] { (0..<n).map { UInt8($0 % 10) } }
  writeFile(
    "\(directory)/train-images-idx3-ubyte",
    idxBytes(magic: 0x803, dimensions: [count, 4, 3], values: images(count)))
  writeFile(
    "\(directory)/train-labels-idx1-ubyte", idxBytes(magic: 0x801, dimensions: [count], values: labels(count))
  )
  writeFile(
    "\(directory)/t10k-images-idx3-ubyte",
    idxBytes(magic: 0x803, dimensions: [count / 2, 4, 3], values: images(count / 2)))
  writeFile(
    "\(directory)/t10k-labels-idx1-ubyte",
    idxBytes(magic: 0x801, dimensions: [count / 2], values: labels(count / 2)))
}

/// The error `body` throws, or nil when it throws none; records an issue if it throws anything
/// but a ``DatasetError``.
func datasetError<T>(_ body: () throws -> T) -> DatasetError? {
  do {
    _ = try body()
    return nil
  } catch let error as DatasetError {
    return error
  } catch {
    Issue.record("threw \(type(of: error)), not a DatasetError: \(error)")
    return nil
  }
}
