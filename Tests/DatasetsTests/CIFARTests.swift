import Datasets
import Foundation
import Testing

/// A CIFAR file's bytes, written by hand as the format describes: per record the label byte(s),
/// then pixel (record, channel, row, column) = (record + channel + row + column) mod 256.
private func records(_ format: CIFARFormat, labels: [UInt8]) -> [UInt8] {
  var bytes: [UInt8] = []
  for (record, label) in labels.enumerated() {
    bytes += format == .cifar10 ? [label] : [label % 20, label]
    for channel in 0..<3 {
      for row in 0..<32 {
        for column in 0..<32 { bytes.append(UInt8((record + channel + row + column) % 256)) }
      }
    }
  }
  return bytes
}

/// A folder with `format`'s files, each holding `perFile` records labelled record mod classes.
private func cifarFolder(_ format: CIFARFormat, perFile: Int) throws -> String {
  let directory = try makeTemporaryDirectory("cifar-\(format.rawValue)")
  for file in format.trainFiles + [format.testFile] {
    let labels = (0..<perFile).map { UInt8(($0 * 7) % format.classes) }
    try Data(records(format, labels: labels)).write(to: URL(fileURLWithPath: "\(directory)/\(file)"))
  }
  return directory
}

@Test func cifar10_readsRecordsAsPlanes_concatenatingTheFiveBatchesInOrder() throws {
  let directory = try cifarFolder(.cifar10, perFile: 3)
  defer { removeDirectory(directory) }
  let dataset = try DatasetSource.named("cifar-10", dataDirectory: directory, environment: [:]).load()
  #expect(
    (dataset.name, dataset.channels, dataset.rows, dataset.columns, dataset.classes) == (
      "cifar-10", 3, 32, 32, 10
    ))
  #expect(dataset.train.count == 15 && dataset.test.count == 3)
  #expect(dataset.train.labels == Array(repeating: [0, 7, 4] as [UInt8], count: 5).flatMap { $0 })
  // Record 1 of a file, green plane (channel 1), row 2, column 3: (1 + 1 + 2 + 3) mod 256.
  let pixels = dataset.pixelsPerImage
  #expect(pixels == 3072)
  #expect(dataset.train.images[1 * pixels + 1 * 1024 + 2 * 32 + 3] == 7)
  // The sixth training image is the first record of data_batch_2.
  #expect(Array(dataset.train.images[(3 * pixels)..<(4 * pixels)]) == Array(dataset.train.images[0..<pixels]))
}

@Test func cifar100_takesTheFineLabel_andRoundTripsThroughItsWriter() throws {
  let directory = try cifarFolder(.cifar100, perFile: 4)
  defer { removeDirectory(directory) }
  let dataset = try ImageDataset.readCIFAR(.cifar100, from: directory, advice: "")
  #expect(dataset.classes == 100 && dataset.train.labels == [0, 7, 14, 21])
  let copy = try makeTemporaryDirectory("cifar-copy")
  defer { removeDirectory(copy) }
  try dataset.writeCIFAR(.cifar100, to: copy)
  let again = try ImageDataset.readCIFAR(.cifar100, from: copy, advice: "")
  #expect(again == dataset && again.sha256 == dataset.sha256)
  // A colour dataset's hash covers its channel count; a grey one keeps the v1 hash (SynthDigits'
  // pinned hashes are unchanged).
  let grey = try ImageDataset(
    name: "g", rows: 32, columns: 32, channels: 1, classes: 100,
    train: ImageSplit(images: Array(dataset.train.images.prefix(4 * 1024)), labels: dataset.train.labels),
    test: ImageSplit(images: [], labels: []))
  #expect(grey.sha256 != dataset.sha256)
  #expect(throws: DatasetError.self) { try dataset.writeIDX(to: copy) }
}

@Test func cifar_damagedOrMissingFiles_areErrorsNamingTheFile() throws {
  let directory = try cifarFolder(.cifar10, perFile: 2)
  defer { removeDirectory(directory) }
  // One byte short of two records.
  let path = "\(directory)/data_batch_3.bin"
  let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
  try bytes.dropLast().write(to: URL(fileURLWithPath: path))
  let short = datasetError { try ImageDataset.readCIFAR(.cifar10, from: directory, advice: "") }
  #expect(
    short?.code == .malformed && short?.path == path && "\(short!)".contains("3073"),
    "\(String(describing: short))")
  // A label of 10 in CIFAR-10.
  try Data(records(.cifar10, labels: [3, 10])).write(to: URL(fileURLWithPath: path))
  let label = datasetError { try ImageDataset.readCIFAR(.cifar10, from: directory, advice: "") }
  #expect(label?.code == .invalidLabels && label?.path == path)
  try FileManager.default.removeItem(atPath: path)
  let missing = datasetError { try ImageDataset.readCIFAR(.cifar10, from: directory, advice: "copy them") }
  #expect(
    missing?.code == .missingFile && "\(missing!)".contains("data_batch_3.bin")
      && "\(missing!)".contains("copy them"))
  #expect(datasetError { try DatasetSource.named("cifar-100", environment: [:]) }?.code == .missingDirectory)
}
