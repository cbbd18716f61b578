import Datasets
import Foundation
import Testing

private func objects(classes: Int = 10, side: Int = 32, seed: UInt64 = 3, train: Int = 400, test: Int = 100)
  throws
  -> ImageDataset
{
  try SynthObjects.makeDataset(
    classes: classes,
    SynthImageSettings {
      $0.seed = seed
      $0.trainCount = train
      $0.testCount = test
      $0.side = side
    })
}

@Test func synthObjects_areColourAndDeterministic_andTheHashIsPinned() throws {
  let a = try objects()
  #expect((a.name, a.channels, a.rows, a.classes, a.pixelsPerImage) == ("synth-objects-10", 3, 32, 10, 3072))
  #expect(a == (try objects()))
  #expect(a.train.images != (try objects(seed: 4)).train.images)
  let small = try objects(classes: 100, side: 16)
  #expect(
    (small.name, small.rows, small.classes, small.pixelsPerImage) == ("synth-objects-100-16", 16, 100, 768))
  #expect(try DatasetSource.named("synth-objects-100-16", environment: [:]).name == "synth-objects-100-16")
  let pinned = try objects(train: 50, test: 20)
  #expect(pinned.sha256 == "7f800cad0d64489227f9ec665c289d59d3fe83b878023c603371e99bde6982e4")
}

@Test func synthObjects_roundTripThroughCIFARFiles_asCIFAR10AndCIFAR100() throws {
  for classes in [10, 100] {
    let generated = try objects(classes: classes, train: 200, test: 100)
    let format: CIFARFormat = classes == 10 ? .cifar10 : .cifar100
    let directory = try makeTemporaryDirectory("objects-\(classes)")
    defer { removeDirectory(directory) }
    try generated.writeCIFAR(format, to: directory)
    let loaded = try DatasetSource.named(format.rawValue, dataDirectory: directory, environment: [:]).load()
    #expect(loaded.train == generated.train && loaded.test == generated.test)
    #expect(loaded.sha256 == generated.sha256)
  }
}

@Test func synthObjects_classesDifferInColour_soTheClassMeansSeparateThem() throws {
  let dataset = try objects(train: 1000, test: 300)
  // Mean red, green and blue of each class's training images: the hue bands make them differ.
  let pixels = dataset.pixelsPerImage
  let plane = pixels / 3
  func colour(_ split: ImageSplit, _ index: Int) -> [Double] {
    (0..<3).map { c in
      split.images[(index * pixels + c * plane)..<(index * pixels + (c + 1) * plane)].reduce(0.0) {
        $0 + Double($1)
      } / Double(plane)
    }
  }
  var means = Array(repeating: [0.0, 0.0, 0.0], count: 10)
  var counts = Array(repeating: 0, count: 10)
  for index in 0..<dataset.train.count {
    let label = Int(dataset.train.labels[index])
    counts[label] += 1
    for (c, v) in colour(dataset.train, index).enumerated() { means[label][c] += v }
  }
  for k in 0..<10 { for c in 0..<3 { means[k][c] /= Double(counts[k]) } }
  var correct = 0
  for index in 0..<dataset.test.count {
    let x = colour(dataset.test, index)
    let distances = means.map { m in zip(m, x).reduce(0.0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) } }
    if distances.firstIndex(of: distances.min()!) == Int(dataset.test.labels[index]) { correct += 1 }
  }
  // Chance is 0.1; neighbouring hue bands overlap by design, and shapes and textures are not seen.
  let accuracy = Double(correct) / Double(dataset.test.count)
  #expect(accuracy > 0.3 && accuracy < 0.95, "mean-colour nearest-class accuracy \(accuracy)")
}
