import Datasets
import Foundation
import Testing

private func gratings(seed: UInt64, train: Int = 600, test: Int = 200) throws -> ImageDataset {
  try SynthGratings.makeDataset(smallSettings(seed: seed, train: train, test: test))
}

@Test func synthGratings_sameSeed_isBitIdentical_anotherSeedIsNot_andTheHashIsPinned() throws {
  let a = try gratings(seed: 7)
  #expect(a == (try gratings(seed: 7)))
  let c = try gratings(seed: 8)
  #expect(a.train.images != c.train.images)
  #expect(a.sha256 != c.sha256)
  #expect((a.rows, a.columns, a.classes, a.name) == (28, 28, 10, "synth-gratings"))
  // Not SynthDigits under another name: the same settings draw other images.
  #expect(a.train.images != (try SynthDigits.makeDataset(smallSettings(seed: 7))).train.images)
  let pinned = try gratings(seed: 1, train: 100, test: 50)
  #expect(pinned.sha256 == "83e6a6e76840fffeed994fa07f2280fbf1f759dabe1ddfe5f472507e2bac4e3f")
}

@Test func synthGratings_classesAreBalanced_andRoundTripThroughIDXFiles() throws {
  let generated = try gratings(seed: 11, train: 1003, test: 200)
  var counts = Array(repeating: 0, count: 10)
  for label in generated.train.labels { counts[Int(label)] += 1 }
  #expect(counts == [101, 101, 101, 100, 100, 100, 100, 100, 100, 100])
  let directory = try makeTemporaryDirectory("gratings")
  defer { removeDirectory(directory) }
  try generated.writeIDX(to: directory, compression: .gzip)
  let loaded = try DatasetSource.fashionMNIST(directory: directory).load()
  #expect(loaded.train == generated.train && loaded.test == generated.test)
  #expect(loaded.sha256 == generated.sha256)
  #expect(try DatasetSource.named("synth-gratings", environment: [:]) == .synthGratings(SynthImageSettings()))
  #expect(
    datasetError { try DatasetSource.named("synth-gratings", dataDirectory: "/d", environment: [:]) }?.code
      == .invalidSetting)
}

/// Nearest-class-mean accuracy on the test split, from the training split's class means of
/// `feature` of each image.
private func nearestMeanAccuracy(_ dataset: ImageDataset, feature: ([Double]) -> [Double]) -> Double {
  let pixels = dataset.pixelsPerImage
  func features(_ split: ImageSplit, _ index: Int) -> [Double] {
    feature(split.images[(index * pixels)..<((index + 1) * pixels)].map { Double($0) / 255 })
  }
  var means: [[Double]] = []
  var counts = Array(repeating: 0, count: dataset.classes)
  for index in 0..<dataset.train.count {
    let f = features(dataset.train, index)
    if means.isEmpty { means = Array(repeating: Array(repeating: 0, count: f.count), count: dataset.classes) }
    let label = Int(dataset.train.labels[index])
    counts[label] += 1
    for k in f.indices { means[label][k] += f[k] }
  }
  for c in means.indices { for k in means[c].indices { means[c][k] /= Double(counts[c]) } }
  var correct = 0
  for index in 0..<dataset.test.count {
    let f = features(dataset.test, index)
    let distances = means.map { mean in zip(mean, f).reduce(0.0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) } }
    if distances.firstIndex(of: distances.min()!) == Int(dataset.test.labels[index]) { correct += 1 }
  }
  return Double(correct) / Double(dataset.test.count)
}

/// The root mean square over pixels and classes of each class's mean training image minus the
/// mean image of all classes, in units of full intensity, with image i counted in class
/// `labels[i]`.
private func classMeanSpread(_ dataset: ImageDataset, labels: [UInt8]) -> Double {
  let pixels = dataset.pixelsPerImage
  var means = Array(repeating: Array(repeating: 0.0, count: pixels), count: dataset.classes)
  var counts = Array(repeating: 0, count: dataset.classes)
  for index in 0..<dataset.train.count {
    let label = Int(labels[index])
    counts[label] += 1
    for p in 0..<pixels { means[label][p] += Double(dataset.train.images[index * pixels + p]) / 255 }
  }
  for c in means.indices { for p in 0..<pixels { means[c][p] /= Double(counts[c]) } }
  let overall = (0..<pixels).map { p in means.reduce(0.0) { $0 + $1[p] } / Double(dataset.classes) }
  let squares = means.reduce(0.0) { sum, mean in
    sum + zip(mean, overall).reduce(0.0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) }
  }
  return (squares / Double(dataset.classes * pixels)).squareRoot()
}

/// How much more the class means differ than the means of groups of the same sizes that ignore the
/// class (each image counted in the class of the next image; labels are shuffled, so that is
/// independent of its own): 1 when class means carry nothing but sampling noise.
private func classMeanSignal(_ dataset: ImageDataset) -> Double {
  let labels = dataset.train.labels
  return classMeanSpread(dataset, labels: labels)
    / classMeanSpread(dataset, labels: Array(labels.dropFirst()) + [labels[0]])
}

@Test func synthGratings_phaseHidesTheClassFromTheMeanImage_butNotFromTheSpectrum() throws {
  let dataset = try gratings(seed: 2, train: 1000, test: 300)
  // The random phase averages every class's mean image to the same grey, so class means differ no
  // more than means of random groups and no pixel template tells the classes apart; SynthDigits'
  // class means differ by their glyphs.
  let signal = classMeanSignal(dataset)
  let digitsSignal = classMeanSignal(
    try SynthDigits.makeDataset(smallSettings(seed: 2, train: 1000, test: 300)))
  #expect(signal < 1.3, "SynthGratings: class means spread \(signal) × as much as random groups' means")
  #expect(
    digitsSignal > 2, "SynthDigits: class means spread \(digitsSignal) × as much as random groups' means")
  // The power spectrum ignores phase: |DFT|² at a few frequencies separates the classes well.
  let side = dataset.rows
  let frequencies = (-6...6).flatMap { u in (0...6).map { v in (u, v) } }.filter { $0 != (0, 0) }
  let spectra = nearestMeanAccuracy(dataset) { image in
    frequencies.map { (u, v) in
      var (re, im) = (0.0, 0.0)
      for y in 0..<side {
        for x in 0..<side {
          let angle = 2 * Double.pi * Double(u * x + v * y) / Double(side)
          re += (image[y * side + x] - 0.5) * Foundation.cos(angle)
          im += (image[y * side + x] - 0.5) * Foundation.sin(angle)
        }
      }
      return (re * re + im * im).squareRoot()
    }
  }
  #expect(spectra > 0.6, "nearest-class-mean accuracy on the amplitude spectrum \(spectra)")
}
