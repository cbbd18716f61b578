import Datasets
import Foundation
import Testing

/// A small SynthDigits configuration, quick in a debug build.
func smallSettings(seed: UInt64, train: Int = 600, test: Int = 200) -> SynthImageSettings {
  SynthImageSettings {
    $0.seed = seed
    $0.trainCount = train
    $0.testCount = test
  }
}

@Test func synthDigits_sameSeed_isBitIdentical_anotherSeedIsNot() throws {
  let a = try SynthDigits.makeDataset(smallSettings(seed: 7))
  let b = try SynthDigits.makeDataset(smallSettings(seed: 7))
  let c = try SynthDigits.makeDataset(smallSettings(seed: 8))
  #expect(a == b)
  #expect(a.sha256 == b.sha256)
  #expect(a.train.labels != c.train.labels)
  // Images of one digit at one index differ too: the seed reaches the drawing, not only the labels.
  let pixels = a.pixelsPerImage
  let sameDigit = (0..<a.train.count).filter { a.train.labels[$0] == c.train.labels[$0] }
  #expect(sameDigit.count > 20)
  for index in sameDigit {
    let range = (index * pixels)..<((index + 1) * pixels)
    #expect(a.train.images[range] != c.train.images[range])
  }
  #expect(a.test.images != c.test.images)
  #expect(a.sha256 != c.sha256)
  // Train and test are different draws, not one copied into the other.
  #expect(Array(a.train.images.prefix(a.test.images.count)) != a.test.images)
}

@Test func synthDigits_testSplit_doesNotDependOnTheTrainingCount() throws {
  let small = try SynthDigits.makeDataset(smallSettings(seed: 3, train: 10, test: 30))
  let large = try SynthDigits.makeDataset(smallSettings(seed: 3, train: 1000, test: 30))
  #expect(small.test == large.test)
}

@Test func synthDigits_matchesPinnedHash_soGeneratorChangesAreSeen() throws {
  let dataset = try SynthDigits.makeDataset(smallSettings(seed: 1, train: 100, test: 50))
  // Measured in a debug build and in the release benchmark (-target-cpu haswell): the same bits.
  // (The default settings, 60,000 + 10,000 images of seed 0, hash to
  // 2f7107c064c6d174ede22719e1fb1b8529c004ab6ce9eb8118e04c1482f816ec: `metasweep-bench datasets`.)
  #expect(dataset.sha256 == "98a66330fba356a99f5fb5f801a1ff1c3b578f0333ce2eb27f83ac695820199b")
}

@Test func synthDigits_defaultsStandInForMNIST_fileForFile() {
  let settings = SynthImageSettings()
  #expect((settings.trainCount, settings.testCount, settings.side) == (60_000, 10_000, 28))
}

@Test func synthDigits_classesAreBalanced_inBothSplits() throws {
  let dataset = try SynthDigits.makeDataset(smallSettings(seed: 11, train: 1003, test: 200))
  var trainCounts = Array(repeating: 0, count: 10)
  for label in dataset.train.labels { trainCounts[Int(label)] += 1 }
  #expect(trainCounts == [101, 101, 101, 100, 100, 100, 100, 100, 100, 100])
  var testCounts = Array(repeating: 0, count: 10)
  for label in dataset.test.labels { testCounts[Int(label)] += 1 }
  #expect(testCounts == Array(repeating: 20, count: 10))
  // Shuffled, not in class order.
  #expect(dataset.train.labels != dataset.train.labels.sorted())
  #expect(Array(dataset.train.labels.prefix(20)) != (0..<20).map { UInt8($0 % 10) })
}

@Test func synthDigits_roundTripsThroughIDXFiles_plainAndGzipped_toIdenticalArraysAndHash() throws {
  let generated = try SynthDigits.makeDataset(smallSettings(seed: 5, train: 500, test: 120))
  for compression in IDXCompression.allCases {
    let directory = try makeTemporaryDirectory("synth-\(compression)")
    defer { removeDirectory(directory) }
    try generated.writeIDX(to: directory, compression: compression)
    let suffix = compression == .gzip ? ".gz" : ""
    #expect(
      try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
        == ImageDataset.IDXFileName.allCases.map { $0.rawValue + suffix }.sorted())
    let loaded = try DatasetSource.mnist(directory: directory).load()
    #expect(loaded.name == "mnist")
    #expect(loaded.train == generated.train)
    #expect(loaded.test == generated.test)
    #expect((loaded.rows, loaded.columns, loaded.classes) == (28, 28, 10))
    #expect(loaded.sha256 == generated.sha256)
  }
}

@Test func synthDigits_areLearnable_nearestClassMeanFarAboveChance() throws {
  let dataset = try SynthDigits.makeDataset(smallSettings(seed: 2, train: 1000, test: 300))
  let pixels = dataset.pixelsPerImage
  // Class means of the training images, class after class.
  var means = Array(repeating: 0.0, count: 10 * pixels)
  var counts = Array(repeating: 0, count: 10)
  for index in 0..<dataset.train.count {
    let label = Int(dataset.train.labels[index])
    counts[label] += 1
    for p in 0..<pixels { means[label * pixels + p] += Double(dataset.train.images[index * pixels + p]) }
  }
  for c in 0..<10 { for p in 0..<pixels { means[c * pixels + p] /= Double(counts[c]) } }
  var correct = 0
  for index in 0..<dataset.test.count {
    let image = dataset.test.images[(index * pixels)..<((index + 1) * pixels)].map(Double.init)
    let distances = (0..<10).map { c in
      (0..<pixels).reduce(0.0) { sum, p in
        let d = image[p] - means[c * pixels + p]
        return sum + d * d
      }
    }
    if distances.firstIndex(of: distances.min()!) == Int(dataset.test.labels[index]) { correct += 1 }
  }
  let accuracy = Double(correct) / Double(dataset.test.count)
  // Chance is 0.1. Varied glyphs keep a mean template from perfect; 1.0 would mean no variation.
  #expect(accuracy > 0.5 && accuracy < 0.99, "nearest-class-mean accuracy \(accuracy)")
}

@Test func synthDigits_invalidSettings_throwInsteadOfTrapping() {
  let negative = datasetError { try SynthDigits.makeDataset(smallSettings(seed: 1, train: -1)) }
  #expect(negative?.code == .invalidSetting)
  #expect(negative?.field == .settings)
  let tiny = datasetError { try SynthDigits.makeDataset(SynthImageSettings { $0.side = 4 }) }
  #expect(tiny?.code == .invalidSetting)
}
