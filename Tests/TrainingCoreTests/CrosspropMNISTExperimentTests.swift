import Datasets
import Experiments
import Foundation
import SweepModel
import Testing
import TrainingCore

/// A folder holding a small SynthDigits dataset as the four MNIST files (`compression` decides
/// whether they are gzipped); `edit` may change the dataset's bytes first.
private func writeDigits(
  train: Int = 400, test: Int = 100, compression: IDXCompression = .none,
  edit: (inout [UInt8]) -> Void = { _ in }
) throws -> (directory: String, dataset: ImageDataset) {
  let generated = try SynthDigits.makeDataset(
    SynthImageSettings {
      $0.seed = 5
      $0.trainCount = train
      $0.testCount = test
    })
  var pixels = generated.train.images
  edit(&pixels)
  let dataset = try ImageDataset(
    name: "mnist", rows: generated.rows, columns: generated.columns, classes: generated.classes,
    train: ImageSplit(images: pixels, labels: generated.train.labels), test: generated.test)
  let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
    "metasweep-crossprop-mnist-\(UUID().uuidString)"
  ).path
  try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
  try dataset.writeIDX(to: directory, compression: compression)
  return (directory, dataset)
}

/// Small runs on the folder `directory`: 16 hidden units, 200 examples a stage.
private func small(_ directory: String, _ overrides: Parameters = [:]) -> Parameters {
  var p: Parameters = [
    "dataset": .string("mnist"), "data_dir": .string(directory), "hidden_units": .int(16),
    "examples_per_task": .int(200), "bin_size": .int(50), "tail_examples": .int(100),
  ]
  p.merge(overrides) { _, new in new }
  return p
}

/// A sweep file over `small(directory)`, its `fixed` entries replaced or added by `fixed`, read as
/// `sweep.yaml`.
private func validate(_ directory: String, _ fixed: [String: String] = [:], variants: String = "  a: {}")
  throws
  -> [RunSpec]
{
  var entries = [
    "dataset": "mnist", "data_dir": directory, "hidden_units": "16", "examples_per_task": "200",
    "bin_size": "50", "tail_examples": "100",
  ]
  entries.merge(fixed) { _, new in new }
  let yaml =
    "name: images\nexperiment: crossprop-mnist\nseeds: 2\nfixed:\n"
    + entries.sorted { $0.key < $1.key }.map { "  \($0.key): \($0.value)\n" }.joined()
    + "variants:\n\(variants)\n"
  return try ExperimentCatalogue.validate(SweepSpec.parse(yaml: yaml, file: "sweep.yaml"))
}

/// Every number of the outcome, bit for bit.
private func bits(_ outcome: Outcome) -> [UInt64] {
  outcome.metrics.map(\.value.bitPattern) + outcome.series.flatMap { $0.values.map(\.bitPattern) }
}

@Test func validation_pinsTheDatasetsHash_intoEveryRun_soItsKeyNamesTheData() throws {
  let (directory, dataset) = try writeDigits()
  defer { try? FileManager.default.removeItem(atPath: directory) }
  let runs = try validate(directory)
  #expect(runs.count == 2)
  #expect(runs.allSatisfy { $0.parameters["dataset_sha256"] == .string(dataset.sha256) })

  // One changed pixel is another dataset, so other run keys.
  let (other, changed) = try writeDigits { $0[100] ^= 1 }
  defer { try? FileManager.default.removeItem(atPath: other) }
  #expect(changed.sha256 != dataset.sha256)
  let otherRuns = try validate(other)
  #expect(otherRuns[0].parameters["dataset_sha256"] == .string(changed.sha256))

  // A hash written in the sweep file is kept without reading anything, so a coordinator without
  // the files can serve workers that have them.
  let pinned = try validate("/nonexistent/images", ["dataset_sha256": "\"\(dataset.sha256)\""])
  #expect(pinned[0].parameters["dataset_sha256"] == .string(dataset.sha256))
}

@Test func aWorkerWhoseCopyDiffers_refusesTheRun_namingItsHostAndBothHashes() throws {
  let (directory, dataset) = try writeDigits()
  let (other, changed) = try writeDigits { $0[7] ^= 0x80 }
  defer {
    try? FileManager.default.removeItem(atPath: directory)
    try? FileManager.default.removeItem(atPath: other)
  }
  let pinned = small(other, ["dataset_sha256": .string(dataset.sha256)])
  do {
    _ = try ExperimentCatalogue.run(experiment: "crossprop-mnist", parameters: pinned, seed: 1)
    Issue.record("a run on different data completed")
  } catch {
    let message = "\(error)"
    #expect(message.contains(dataset.sha256) && message.contains(changed.sha256), "\(message)")
    #expect(message.contains("on host ") && message.contains(other), "\(message)")
  }
  // The pinned copy runs.
  let good = small(directory, ["dataset_sha256": .string(dataset.sha256)])
  #expect(throws: Never.self) {
    try ExperimentCatalogue.run(experiment: "crossprop-mnist", parameters: good, seed: 1)
  }
}

@Test func gzippedAndPlainFiles_giveTheSameHash_andBitIdenticalRuns() throws {
  let (plain, dataset) = try writeDigits()
  let (gzipped, same) = try writeDigits(compression: .gzip)
  defer {
    try? FileManager.default.removeItem(atPath: plain)
    try? FileManager.default.removeItem(atPath: gzipped)
  }
  #expect(dataset.sha256 == same.sha256)
  #expect(FileManager.default.fileExists(atPath: gzipped + "/train-images-idx3-ubyte.gz"))
  for algorithm in ["backprop", "crossprop-approx", "adam"] {
    let a = try ExperimentCatalogue.run(
      experiment: "crossprop-mnist", parameters: small(plain, ["algorithm": .string(algorithm)]), seed: 3)
    let b = try ExperimentCatalogue.run(
      experiment: "crossprop-mnist", parameters: small(gzipped, ["algorithm": .string(algorithm)]), seed: 3)
    #expect(bits(a) == bits(b), "\(algorithm)")
    let c = try ExperimentCatalogue.run(
      experiment: "crossprop-mnist", parameters: small(plain, ["algorithm": .string(algorithm)]), seed: 4)
    #expect(bits(a) != bits(c), "\(algorithm): the seed changed nothing")
  }
}

@Test func outcome_reportsWhatItsParametersPromise_withMapsOfTheFirstImages() throws {
  let (directory, dataset) = try writeDigits()
  defer { try? FileManager.default.removeItem(atPath: directory) }
  let family = try #require(ExperimentCatalogue.family(named: "crossprop-mnist"))
  for (stages, images) in [(3, 0), (4, 80)] {
    let parameters = ExperimentCatalogue.completed(
      small(
        directory, ["stages": .int(stages), "embedding_images": .int(images), "tsne_iterations": .int(50)]),
      descriptor: family.descriptor)
    let outcome = try family.run(parameters: parameters, seed: 2)
    #expect(outcome.metrics.map(\.name) == family.metrics(for: parameters))
    #expect(outcome.metrics.filter { $0.name.hasPrefix("test_accuracy_stage") }.count == stages * 3)
    let curves = outcome.series.filter { family.descriptor.series.contains($0.name) }
    #expect(curves.map(\.name) == family.series(for: parameters))
    #expect(curves.allSatisfy { $0.values.count == stages * 200 / 50 && $0.xStart == 50 && $0.xStep == 50 })
    let maps = outcome.series.filter { $0.name.hasPrefix("tsne_") }
    #expect(maps.count == (images > 0 ? stages * 3 : 0))
    if images > 0 {
      for stage in 1...stages {
        let labels = try #require(outcome.series(named: "tsne_stage\(stage)_label"))
        #expect(labels.values == dataset.train.labels.prefix(images).map(Double.init))
        #expect(outcome.series(named: "tsne_stage\(stage)_x")?.values.count == images)
        #expect(outcome.series(named: "tsne_stage\(stage)_y")?.values.count == images)
        let knn = try #require(outcome.metric("tsne_knn_stage\(stage)"))
        #expect(knn >= 0 && knn <= 1)
      }
      // The maps change as the network learns other labellings.
      #expect(outcome.series(named: "tsne_stage1_x") != outcome.series(named: "tsne_stage2_x"))
    }
  }
}

@Test func badParameters_areRejectedBeforeAnythingRuns_sayingWhatToChange() throws {
  let (directory, _) = try writeDigits(train: 300, test: 50)
  defer { try? FileManager.default.removeItem(atPath: directory) }
  func rejection(_ fixed: [String: String], variants: String = "  a: {}") -> String? {
    do {
      _ = try validate(directory, fixed, variants: variants)
      return nil
    } catch {
      return "\(error)"
    }
  }
  #expect(
    rejection(["examples_per_task": "400"])?.contains(
      "examples_per_task (400) exceeds the 300 training images of mnist") == true)
  #expect(
    rejection(["data_dir": "images/mnist"])?.contains("data_dir 'images/mnist' must be an absolute path")
      == true)
  #expect(
    rejection(["dataset_sha256": "\"abc\""])?.contains("dataset_sha256 must be 64 lowercase hex digits")
      == true)
  #expect(
    rejection(["dataset_sha256": "12"])?.contains("dataset_sha256: must be text (in quotes), got 12") == true)
  #expect(rejection(["algorithm": "crossprop"])?.contains("must be one of backprop, momentum") == true)
  #expect(rejection(["embedding_images": "50"])?.contains("must exceed 3 × tsne_perplexity") == true)
  // A missing folder is said once, naming the folder, however many variants read it.
  let missing = rejection(
    ["data_dir": "/nonexistent/mnist-\(UUID().uuidString)"], variants: "  a: {}\n  b: {algorithm: adam}")
  #expect(missing?.contains("/nonexistent/mnist-") == true, "\(missing ?? "accepted")")
  #expect(missing?.components(separatedBy: "/nonexistent/mnist-").count == 2, "\(missing ?? "")")
}

@Test func fashionMNIST_runsFromDebiansFiles_whenInstalled() throws {
  guard FileManager.default.fileExists(atPath: DatasetSource.defaultFashionMNISTDirectory) else {
    // tools/setup installs dataset-fashion-mnist; tools/test fails without it (DatasetsTests).
    return
  }
  let parameters: Parameters = [
    "hidden_units": .int(8), "examples_per_task": .int(100), "bin_size": .int(50), "tail_examples": .int(50),
  ]
  let runs = try ExperimentCatalogue.validate(
    SweepSpec.parse(
      yaml:
        "name: f\nexperiment: crossprop-mnist\nseeds: 1\nfixed: {hidden_units: 8, examples_per_task: 100, "
        + "bin_size: 50, tail_examples: 50}\nvariants:\n  a: {}\n",
      file: "sweep.yaml"))
  #expect(
    runs[0].parameters["dataset_sha256"]
      == .string("37be1ae9ecaa1df74193b80b4e5c04d1d491bb3b4de2adcf108c0141b4a73d59"))
  let outcome = try ExperimentCatalogue.run(
    experiment: "crossprop-mnist", parameters: runs[0].parameters.merging(parameters) { a, _ in a }, seed: 0)
  #expect(outcome.metric("test_accuracy_stage1_task1").map { $0 > 0 && $0 < 1 } == true)
}

/// Recorded once from this implementation, on SynthDigits seed 5 written as MNIST files; a change
/// means every stored crossprop-mnist result changed.
@Test(arguments: [
  ("backprop", 0.0, "ec35e2488ce54958f480c86d0e1be05b695a7624c9e8fb874de9214cf5a4b3d1"),
  ("crossprop-approx", 0.0, "299d0646c837a7210783160ec0592d198e95e1a663c4b7f910a0753c81b40e50"),
  ("crossprop-approx", 0.5, "d1e836310976ab06542ad10af9a98c47bad5b13909d7fdbfcc9e9994f4149dc3"),
  ("adam", 0.0, "96f273c007eb6eb2d8dd858ffb184978be7d490c038aa630e6925c67a8c9ab73"),
])
func imageGoldenRun_seed7_matchesRecordedFingerprint(algorithm: String, eta: Double, expected: String) throws
{
  let (directory, _) = try writeDigits()
  defer { try? FileManager.default.removeItem(atPath: directory) }
  let outcome = try ExperimentCatalogue.run(
    experiment: "crossprop-mnist",
    parameters: small(directory, ["algorithm": .string(algorithm), "eta": .double(eta)]), seed: 7)
  let text = bits(outcome).map { String($0, radix: 16) }.joined(separator: ",")
  #expect(SHA256.hex(text) == expected, "\(algorithm) η=\(eta)")
}

/// 40 hidden units: five chunks, so the forward pass runs its four-chunk blocks (where the last
/// step's deferred update is applied while the rows are read) and its one-chunk tail. Recorded
/// with the update applied eagerly, before the forward pass learned to apply it.
@Test(arguments: [
  ("backprop", 0.0, "2c5982465e22f4caa532a82ffdca6c4790e992730f75500a4463f6a8f185d660"),
  ("crossprop-approx", 0.0, "eb37bc7ab29361f5e0705f0694a6065a7315935da50dcf102c03959e15de1abc"),
])
func imageGoldenRun_wideHiddenLayer_keepsItsBits(algorithm: String, eta: Double, expected: String) throws {
  let (directory, _) = try writeDigits()
  defer { try? FileManager.default.removeItem(atPath: directory) }
  let outcome = try ExperimentCatalogue.run(
    experiment: "crossprop-mnist",
    parameters: small(
      directory,
      [
        "algorithm": .string(algorithm), "eta": .double(eta), "hidden_units": .int(40),
        "embedding_images": .int(70),
      ]),
    seed: 11)
  let text = bits(outcome).map { String($0, radix: 16) }.joined(separator: ",")
  #expect(SHA256.hex(text) == expected, "\(algorithm) η=\(eta)")
}
