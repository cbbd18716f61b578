import Datasets
import Foundation
import Testing

@Test func idxFolder_readsBothSplits_inFileOrder() throws {
  let directory = try makeTemporaryDirectory("folder")
  defer { removeDirectory(directory) }
  writeTinyIDXFolder(directory, count: 12)
  let dataset = try ImageDataset.readIDX(name: "mnist", from: directory)
  #expect(dataset.name == "mnist")
  #expect((dataset.rows, dataset.columns, dataset.classes) == (4, 3, 10))
  #expect(dataset.train.count == 12 && dataset.test.count == 6)
  #expect(dataset.train.labels == (0..<12).map { UInt8($0 % 10) })
  // Image 5, row 2, column 1: (5 + 2 + 1) mod 256.
  #expect(dataset.train.images[5 * 12 + 2 * 3 + 1] == 8)
  #expect(dataset.test.images.count == 6 * 12)
}

@Test func gzippedFolder_readsToTheSameDataset_andSameHash_asPlainFolder() throws {
  let plain = try makeTemporaryDirectory("folder-plain")
  defer { removeDirectory(plain) }
  writeTinyIDXFolder(plain, count: 40)
  let gzipped = try makeTemporaryDirectory("folder-gz")
  defer { removeDirectory(gzipped) }
  for file in ImageDataset.IDXFileName.allCases {
    try FileManager.default.copyItem(
      atPath: "\(plain)/\(file.rawValue)", toPath: "\(gzipped)/\(file.rawValue)")
    try gzipWithSystemTool("\(gzipped)/\(file.rawValue)")
    try FileManager.default.removeItem(atPath: "\(gzipped)/\(file.rawValue)")
  }
  let fromPlain = try ImageDataset.readIDX(name: "mnist", from: plain)
  let fromGzip = try ImageDataset.readIDX(name: "mnist", from: gzipped)
  #expect(fromGzip == fromPlain)
  #expect(fromGzip.sha256 == fromPlain.sha256)
}

@Test func labelCountUnlikeImageCount_throws_namingTheLabelsFileAndTheImagesFile() throws {
  let directory = try makeTemporaryDirectory("folder-count")
  defer { removeDirectory(directory) }
  writeTinyIDXFolder(directory, count: 12)
  let labels = "\(directory)/train-labels-idx1-ubyte"
  writeFile(labels, idxBytes(magic: 0x801, dimensions: [11], values: Array(repeating: 1, count: 11)))
  let error = datasetError { try ImageDataset.readIDX(name: "mnist", from: directory) }
  #expect(error?.code == .invalidLabels)
  #expect(error?.path == labels)
  #expect(error?.field == .labels)
  #expect(
    error?.description.hasPrefix("\(labels): labels: 11 labels but 12 images in train-images-idx3-ubyte")
      == true)
}

@Test func labelOfTenOrMore_throws_namingTheFileTheLabelAndItsIndex() throws {
  let directory = try makeTemporaryDirectory("folder-label")
  defer { removeDirectory(directory) }
  writeTinyIDXFolder(directory, count: 12)
  let labels = "\(directory)/t10k-labels-idx1-ubyte"
  writeFile(labels, idxBytes(magic: 0x801, dimensions: [6], values: [0, 1, 2, 10, 4, 5]))
  let error = datasetError { try ImageDataset.readIDX(name: "mnist", from: directory) }
  #expect(error?.code == .invalidLabels)
  #expect(error?.path == labels)
  #expect(error?.field == .labels)
  #expect(error?.message.hasPrefix("label 10 of image 3 is not one of the 10 classes") == true)
  // With more classes the same file is fine.
  #expect(datasetError { try ImageDataset.readIDX(name: "mnist", from: directory, classes: 11) } == nil)
}

@Test func splitsOfDifferentImageShapes_throw_shapeMismatch() throws {
  let directory = try makeTemporaryDirectory("folder-shape")
  defer { removeDirectory(directory) }
  writeTinyIDXFolder(directory, count: 12)
  let images = "\(directory)/t10k-images-idx3-ubyte"
  writeFile(images, idxBytes(magic: 0x803, dimensions: [6, 3, 4], values: Array(repeating: 0, count: 72)))
  let error = datasetError { try ImageDataset.readIDX(name: "mnist", from: directory) }
  #expect(error?.code == .shapeMismatch)
  #expect(error?.path == images)
  #expect(error?.field == .dimensions)
}

@Test func missingFileInFolder_throws_namingBothSpellingsAndWhatToDo() throws {
  let directory = try makeTemporaryDirectory("folder-missing")
  defer { removeDirectory(directory) }
  writeTinyIDXFolder(directory)
  try? FileManager.default.removeItem(atPath: "\(directory)/t10k-images-idx3-ubyte")
  let error = datasetError { try DatasetSource.mnist(directory: directory).load() }
  #expect(error?.code == .missingFile)
  #expect(error?.path == "\(directory)/t10k-images-idx3-ubyte")
  #expect(error?.message.contains("t10k-images-idx3-ubyte.gz") == true)
  #expect(error?.message.contains("cannot be downloaded") == true)
  let noFolder = datasetError { try DatasetSource.mnist(directory: "\(directory)/absent").load() }
  #expect(noFolder?.code == .missingFile)
  #expect(noFolder?.field == .directory)
}

@Test func datasetNames_findTheirFolder_argumentBeforeEnvironment() throws {
  let variable = DatasetSource.mnistDirectoryVariable
  #expect(
    try DatasetSource.named("mnist", dataDirectory: "/a", environment: [variable: "/b"])
      == .mnist(directory: "/a"))
  #expect(
    try DatasetSource.named("mnist", dataDirectory: nil, environment: [variable: "/b"])
      == .mnist(directory: "/b"))
  #expect(
    try DatasetSource.named("mnist", dataDirectory: "", environment: [variable: "/b"])
      == .mnist(directory: "/b"))
  let missing = datasetError { try DatasetSource.named("mnist", environment: [variable: ""]) }
  #expect(missing?.code == .missingDirectory)
  #expect(missing?.message.contains(variable) == true)

  #expect(
    try DatasetSource.named("fashion-mnist", environment: [variable: "/b"])
      == .fashionMNIST(directory: "/usr/share/datasets/fashion-mnist"))
  #expect(
    try DatasetSource.named("fashion-mnist", dataDirectory: "/c", environment: [:])
      == .fashionMNIST(directory: "/c"))
  #expect(try DatasetSource.named("synth-digits", environment: [:]) == .synthDigits(SynthImageSettings()))
  #expect(
    datasetError { try DatasetSource.named("synth-digits", dataDirectory: "/c", environment: [:]) }?.field
      == .directory)

  let unknown = datasetError { try DatasetSource.named("cifar-11", environment: [:]) }
  #expect(unknown?.code == .unknownDataset)
  #expect(unknown?.message.contains("fashion-mnist, mnist, cifar-10, cifar-100, synth-digits") == true)
}

@Test func imageDataset_refusesPixelsThatDoNotFillItsImages_andLabelsOutsideItsClasses() throws {
  let images = ImageSplit(images: Array(repeating: 0, count: 8), labels: [0, 1])
  let fits = try ImageDataset(name: "t", rows: 2, columns: 2, classes: 2, train: images, test: images)
  #expect(fits.train.count == 2 && fits.sha256.count == 64)
  let short = ImageSplit(images: Array(repeating: 0, count: 7), labels: [0, 1])
  let shape = datasetError {
    try ImageDataset(name: "t", rows: 2, columns: 2, classes: 2, train: images, test: short)
  }
  #expect(shape?.code == .shapeMismatch)
  #expect(shape?.message.contains("7 test pixels") == true)
  let label = datasetError {
    try ImageDataset(name: "t", rows: 2, columns: 2, classes: 1, train: images, test: images)
  }
  #expect(label?.code == .invalidLabels)
  #expect(label?.field == .labels)
}
