import Datasets
import Experiments
import Foundation
import SweepModel
import Testing

@testable import TrainingCore

private func tinyClassifier(seed: UInt64, algorithm: LearningAlgorithm = .backprop) -> OnlineClassifier {
  var settings = OnlineClassifierSettings()
  (settings.inputs, settings.hiddenUnits, settings.classes) = (12, 10, 3)
  settings.rule.algorithm = algorithm
  settings.rule.stepSize = 0.05
  return OnlineClassifier(settings: settings, seed: seed)
}

private func image(_ k: Int) -> [UInt8] {
  (0..<12).map { UInt8(truncatingIfNeeded: ($0 * 37 + k * 11) % 7 == 0 ? 0 : $0 * 20 + k) }
}

@Test func networkBytes_loadToTheSameWeights_andLearningGoesOnBitForBit() throws {
  var original = tinyClassifier(seed: 4)
  for k in 0..<20 { image(k).withUnsafeBufferPointer { _ = original.learn($0, label: k % 3) } }
  let bytes = original.networkBytes()
  var loaded = try OnlineClassifier(network: bytes, settings: original.settings)
  #expect(loaded.inputWeights == original.inputWeights && loaded.outputWeights == original.outputWeights)
  #expect(loaded.hiddenBiases == original.hiddenBiases && loaded.outputBiases == original.outputBiases)
  #expect(loaded.networkBytes() == bytes)
  // Backprop keeps no optimiser state, so the loaded copy continues exactly as the original.
  for k in 20..<30 {
    let a = image(k).withUnsafeBufferPointer { original.learn($0, label: k % 3) }
    let b = image(k).withUnsafeBufferPointer { loaded.learn($0, label: k % 3) }
    #expect(a == b)
  }
  #expect(loaded.networkBytes() == original.networkBytes())
  // The dimensions come from the network, whatever the settings say.
  var other = OnlineClassifierSettings()
  other.rule.algorithm = .adam
  let reshaped = try OnlineClassifier(network: bytes, settings: other)
  #expect(
    reshaped.settings.inputs == 12 && reshaped.settings.hiddenUnits == 10 && reshaped.settings.classes == 3)
  #expect(reshaped.settings.rule.algorithm == .adam)
}

@Test func damagedOrForeignNetworkBytes_areRefusedWithTheRightCode() throws {
  let bytes = tinyClassifier(seed: 1).networkBytes()
  func code(_ b: [UInt8]) -> BinaryFormatError.Code? {
    do {
      _ = try OnlineClassifier(network: b, settings: OnlineClassifierSettings())
      return nil
    } catch let error as BinaryFormatError {
      return error.code
    } catch {
      return nil
    }
  }
  #expect(
    code(Array(bytes.prefix(bytes.count - 1))) == .truncated
      || code(Array(bytes.prefix(bytes.count - 1))) == .malformed)
  #expect(code(Array(bytes.prefix(10))) == .truncated)
  var flipped = bytes
  flipped[100] ^= 0x10
  #expect(code(flipped) == .checksumMismatch)
  #expect(code(Array("MSLS".utf8) + bytes.dropFirst(4)) == .badMagic)
  var version = bytes
  version[4] = 9
  #expect(code(version) == .unsupportedVersion)
  // Arrays that do not fit the declared shape, under a valid checksum.
  var payload: [UInt8] = []
  for dimension in [12, 10, 3] { VersionedBinary.append(UInt64(dimension), to: &payload) }
  for count in [12 * 10, 10, 10 * 3, 4] {
    VersionedBinary.append([Float](repeating: 0, count: count), to: &payload)
  }
  #expect(code(VersionedBinary.frame(magic: "MSCN", version: 1, payload: payload)) == .malformed)
}

@Test func restrictedImages_keepTheirOrder_andAreRelabelledByTheirPlaceInTheList() {
  let images = LabeledImages(
    pixels: (0..<12).map { UInt8($0) }, labels: [3, 7, 5, 3, 9, 7], pixelsPerImage: 2)
  let subset = images.restricted(to: [7, 3])
  #expect(subset.labels == [1, 0, 1, 0])
  #expect(subset.pixels == [0, 1, 2, 3, 6, 7, 10, 11])
}

/// A small SynthDigits dataset written as the four MNIST files (1,000 training images, 300 test).
private let digitsFolder: Result<String, any Error> = Result {
  let dataset = try SynthDigits.makeDataset(
    SynthImageSettings {
      $0.seed = 9
      $0.trainCount = 1000
      $0.testCount = 300
    })
  let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
    "metasweep-image-pretrain-\(UUID().uuidString)"
  ).path
  try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
  try dataset.writeIDX(to: directory, compression: .none)
  return directory
}

private func pretrain(_ overrides: Parameters = [:], seed: UInt64 = 1) throws -> Outcome {
  var parameters: Parameters = [
    "dataset": .string("mnist"), "data_dir": .string(try digitsFolder.get()), "classes": .string("0-4"),
    "hidden_units": .int(32), "examples": .int(2000), "tail_examples": .int(500), "bin_size": .int(500),
    "algorithm": .string("backprop"), "step_size": .double(0.05), "readout_images": .int(300),
    "readout_steps": .int(200),
  ]
  parameters.merge(overrides) { _, new in new }
  let resolved = try ImagePretrainExperiment.resolve(parameters: parameters)
  return try ExperimentCatalogue.run(experiment: "image-pretrain", parameters: resolved, seed: seed)
}

@Test func imagePretrain_makesANetworkArtifact_thatLearntItsClasses_andIsAPureFunctionOfTheSeed() throws {
  let outcome = try pretrain()
  #expect(outcome.artifacts.map(\.name) == ["network"])
  let network = try OnlineClassifier(
    network: outcome.artifacts[0].bytes, settings: OnlineClassifierSettings())
  #expect(
    network.settings.classes == 5 && network.settings.hiddenUnits == 32 && network.settings.inputs == 784)
  let accuracy = try #require(outcome.metric("test_accuracy"))
  #expect(accuracy > 0.5, "five synthetic digit classes after 2,000 SGD steps: \(accuracy)")
  #expect(outcome.series(named: "error_rate")?.values.count == 4)
  let readout = try #require(outcome.metric("readout_accuracy"))
  #expect(readout > 0.4, "a linear readout of the 32 hidden units, trained on 300 images: \(readout)")
  #expect(try pretrain() == outcome)
  #expect(try pretrain(seed: 2).artifacts != outcome.artifacts)
  #expect(try pretrain(["classes": .string("5,6,7,8,9")]).artifacts != outcome.artifacts)
}

@Test func imagePretrain_badClassesAndBudgets_areRejected_sayingWhatToWrite() {
  for (name, value) in [
    ("classes", ParameterValue.string("0-4,3")), ("classes", .string("4-0")), ("classes", .string("a")),
    ("classes", .string("7")), ("classes", .string("0-10")), ("tail_examples", .int(2100)),
    ("bin_size", .int(7)),
  ] {
    #expect(throws: (any Error).self, "\(name): \(value)") { try pretrain([name: value]) }
  }
}
