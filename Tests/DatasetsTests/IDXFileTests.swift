import Datasets
import Foundation
import Testing

@Test func idxFile_readsImagesAndLabels_writtenByHand() throws {
  let directory = try makeTemporaryDirectory("idx")
  defer { removeDirectory(directory) }
  let pixels: [UInt8] = (0..<24).map { UInt8($0 * 10) }
  writeFile("\(directory)/images", idxBytes(magic: 0x803, dimensions: [2, 3, 4], values: pixels))
  writeFile("\(directory)/labels", idxBytes(magic: 0x801, dimensions: [2], values: [7, 3]))
  let images = try IDXFile.read(.images, at: "\(directory)/images")
  let labels = try IDXFile.read(.labels, at: "\(directory)/labels")
  #expect(images.dimensions == [2, 3, 4])
  #expect(images.values == pixels)
  #expect(labels == IDXArray(dimensions: [2], values: [7, 3]))
}

@Test func gzippedAndPlainCopies_readToTheSameArrays_whicheverToolGzippedThem() throws {
  let directory = try makeTemporaryDirectory("idx-gz")
  defer { removeDirectory(directory) }
  let plain = "\(directory)/train-images-idx3-ubyte"
  // 300 images of 28 × 28: several zlib output chunks, not one short block.
  let pixels = (0..<(300 * 28 * 28)).map { UInt8(truncatingIfNeeded: ($0 &* 2_654_435_761) >> 13) }
  writeFile(plain, idxBytes(magic: 0x803, dimensions: [300, 28, 28], values: pixels))
  try gzipWithSystemTool(plain)
  let ours = IDXArray(dimensions: [300, 28, 28], values: pixels)
  try IDXFile.write(ours, to: "\(directory)/ours.gz", compression: .gzip)
  #expect(readFile("\(directory)/ours.gz").prefix(2) == [0x1F, 0x8B])
  #expect(readFile("\(plain).gz").count < readFile(plain).count + 1000)

  let fromPlain = try IDXFile.read(.images, at: plain)
  let fromSystemGzip = try IDXFile.read(.images, at: "\(plain).gz")
  let fromOurGzip = try IDXFile.read(.images, at: "\(directory)/ours.gz")
  #expect(fromPlain == ours)
  #expect(fromSystemGzip == ours)
  #expect(fromOurGzip == ours)
}

@Test func idxWriter_plainOutput_isByteForByteTheHandWrittenFile() throws {
  let directory = try makeTemporaryDirectory("idx-write")
  defer { removeDirectory(directory) }
  let array = IDXArray(dimensions: [2, 2, 3], values: Array(0..<12))
  try IDXFile.write(array, to: "\(directory)/written")
  #expect(
    readFile("\(directory)/written") == idxBytes(magic: 0x803, dimensions: [2, 2, 3], values: Array(0..<12)))
  // The temporary file was renamed into place, not left beside it.
  #expect(try FileManager.default.contentsOfDirectory(atPath: directory) == ["written"])
}

@Test func wrongMagic_throws_namingTheFileAndTheMagicField() throws {
  let directory = try makeTemporaryDirectory("idx-magic")
  defer { removeDirectory(directory) }
  let path = "\(directory)/images"
  writeFile(path, [0x12, 0x34] + idxBytes(magic: 0x803, dimensions: [1, 1, 1], values: [0]).dropFirst(2))
  let error = datasetError { try IDXFile.read(.images, at: path) }
  #expect(error?.code == .malformed)
  #expect(error?.path == path)
  #expect(error?.field == .magic)
  #expect(error?.description.hasPrefix("\(path): magic: starts with 0x12340803") == true)
}

@Test func labelsFileReadAsImages_throws_sayingTheFilesMayBeSwapped() throws {
  let directory = try makeTemporaryDirectory("idx-swapped")
  defer { removeDirectory(directory) }
  let path = "\(directory)/labels"
  writeFile(path, idxBytes(magic: 0x801, dimensions: [2], values: [1, 2]))
  let error = datasetError { try IDXFile.read(.images, at: path) }
  #expect(error?.field == .magic)
  #expect(error?.message.contains("swapped") == true)
}

@Test func nonByteElementType_isRejected_namingTheType() throws {
  let directory = try makeTemporaryDirectory("idx-type")
  defer { removeDirectory(directory) }
  let path = "\(directory)/images"
  writeFile(path, idxBytes(magic: 0x0D03, dimensions: [1, 1, 1], values: [0, 0, 0, 0]))
  let error = datasetError { try IDXFile.read(.images, at: path) }
  #expect(error?.code == .malformed)
  #expect(error?.field == .type)
  #expect(error?.message.contains("0x0D (f32)") == true)
}

@Test func truncatedFile_throws_namingTheFileAndTheSizeField_plainOrGzipped() throws {
  let directory = try makeTemporaryDirectory("idx-truncated")
  defer { removeDirectory(directory) }
  let path = "\(directory)/train-images-idx3-ubyte"
  let whole = idxBytes(magic: 0x803, dimensions: [3, 4, 4], values: Array(repeating: 9, count: 48))
  writeFile(path, Array(whole.dropLast()))
  let plain = datasetError { try IDXFile.read(.images, at: path) }
  #expect(plain?.code == .truncated)
  #expect(plain?.path == path)
  #expect(plain?.field == .size)
  #expect(plain?.message.contains("63 bytes but its header (3 × 4 × 4) announces 64") == true)

  // A whole gzip stream of a cut-short file: the inflated content is short.
  try gzipWithSystemTool(path)
  let inflated = datasetError { try IDXFile.read(.images, at: "\(path).gz") }
  #expect(inflated?.code == .truncated)
  #expect(inflated?.path == "\(path).gz")
  #expect(inflated?.field == .size)

  // A gzip stream cut short, in its trailer or in its data: zlib runs out of input.
  writeFile(path, whole)
  try gzipWithSystemTool(path)
  let gzipped = readFile("\(path).gz")
  for kept in [gzipped.count - 6, gzipped.count / 2] {
    writeFile("\(path).gz", Array(gzipped.prefix(kept)))
    let cut = datasetError { try IDXFile.read(.images, at: "\(path).gz") }
    #expect(cut?.code == .truncated)
    #expect(cut?.path == "\(path).gz")
    #expect(cut?.field == .compression)
  }
}

@Test func fileLongerThanItsHeaderAnnounces_throws_plainOrGzipped() throws {
  let directory = try makeTemporaryDirectory("idx-long")
  defer { removeDirectory(directory) }
  let path = "\(directory)/labels"
  writeFile(path, idxBytes(magic: 0x801, dimensions: [2], values: [1, 2, 3]))
  let plain = datasetError { try IDXFile.read(.labels, at: path) }
  #expect(plain?.code == .trailingBytes)
  #expect(plain?.field == .size)
  try gzipWithSystemTool(path)
  let gzipped = datasetError { try IDXFile.read(.labels, at: "\(path).gz") }
  #expect(gzipped?.code == .trailingBytes)
  #expect(gzipped?.field == .size)
}

@Test func damagedGzipData_throwsBadCompression_notACrash() throws {
  let directory = try makeTemporaryDirectory("idx-damaged")
  defer { removeDirectory(directory) }
  let path = "\(directory)/images"
  writeFile(path, idxBytes(magic: 0x803, dimensions: [10, 8, 8], values: (0..<640).map { UInt8($0 % 251) }))
  try gzipWithSystemTool(path)
  var gzipped = readFile("\(path).gz")
  // Flip a byte of the CRC-32 in the trailer: the content inflates, and the check fails.
  gzipped[gzipped.count - 6] ^= 0xFF
  writeFile("\(path).gz", gzipped)
  let error = datasetError { try IDXFile.read(.images, at: "\(path).gz") }
  #expect(error?.code == .badCompression)
  #expect(error?.field == .compression)
}

@Test func gzipHeaderAnnouncingAbsurdSize_isRefused_beforeAllocating() throws {
  let directory = try makeTemporaryDirectory("idx-absurd")
  defer { removeDirectory(directory) }
  let path = "\(directory)/images"
  // 4 billion images of 28 × 28 (3 TB) announced by a file of a few dozen bytes.
  writeFile(path, idxBytes(magic: 0x803, dimensions: [4_000_000_000, 28, 28], values: []))
  try gzipWithSystemTool(path)
  let error = datasetError { try IDXFile.read(.images, at: "\(path).gz") }
  #expect(error?.code == .tooLarge)
  #expect(error?.field == .dimensions)
  let plain = datasetError { try IDXFile.read(.images, at: path) }
  #expect(plain?.code == .truncated)
}

@Test func missingFile_throws_missingFile_namingThePath() throws {
  let directory = try makeTemporaryDirectory("idx-missing")
  defer { removeDirectory(directory) }
  let path = "\(directory)/nothing-here"
  let error = datasetError { try IDXFile.read(.labels, at: path) }
  #expect(error?.code == .missingFile)
  #expect(error?.path == path)
  #expect(error?.field == .file)
}
