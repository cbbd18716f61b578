import Datasets
import Experiments
import Foundation
import SweepModel
import Testing
import TrainingCore

/// A small SynthDigits dataset written as the four MNIST files (1,000 training images, 300 test).
private let digitsFolder: Result<String, any Error> = Result {
  let dataset = try SynthDigits.makeDataset(
    SynthImageSettings {
      $0.seed = 9
      $0.trainCount = 1000
      $0.testCount = 300
    })
  let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
    "metasweep-convnet-pretrain-\(UUID().uuidString)"
  ).path
  try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
  try dataset.writeIDX(to: directory, compression: .none)
  return directory
}

private func pretrain(_ overrides: Parameters = [:], seed: UInt64 = 1) throws -> Outcome {
  var parameters: Parameters = [
    "dataset": .string("mnist"), "data_dir": .string(try digitsFolder.get()), "classes": .string("0-4"),
    "epochs": .int(4), "batch": .int(16), "learning_rate": .double(0.05), "momentum": .double(0.5),
    "readout_images": .int(300), "readout_steps": .int(200),
  ]
  parameters.merge(overrides) { _, new in new }
  let resolved = try ConvNetPretrainExperiment.resolve(parameters: parameters)
  return try ExperimentCatalogue.run(experiment: "convnet-pretrain", parameters: resolved, seed: seed)
}

@Test func convnetPretrain_makesALeNetArtifact_thatLearntItsClasses_andIsAPureFunctionOfTheSeed() throws {
  let outcome = try pretrain()
  #expect(outcome.artifacts.map(\.name) == ["network"])
  let (network, parameters) = try ConvNet.decode(outcome.artifacts[0].bytes)
  #expect(network == (try ConvNet.smokeLeNet(classes: 5)))
  #expect(parameters != network.initialParameters(seed: 1))
  let accuracy = try #require(outcome.metric("test_accuracy"))
  #expect(accuracy > 0.6, "five synthetic digit classes after 4 epochs of ~500 images: \(accuracy)")
  let losses = try #require(outcome.series(named: "train_loss")?.values)
  #expect(losses.count == 4 && losses[3] < losses[0])
  let readout = try #require(outcome.metric("readout_accuracy"))
  #expect(readout > 0.5, "a linear readout of the 64 representation units, trained on 300 images: \(readout)")
  #expect(try pretrain() == outcome)
  #expect(try pretrain(seed: 2).artifacts != outcome.artifacts)
}

@Test func convnetRecord_roundTrips_andRefusesDamage() throws {
  let network = try ConvNet(
    input: TensorShape(channels: 3, height: 8, width: 8),
    layers: [
      .convolution(channels: 4, kernel: 3, stride: 2, padding: 1), .groupNorm(groups: 2), .relu, .maxPool,
      .globalAveragePool, .dense(outputs: 2),
    ])
  let parameters: [Float] = network.initialParameters(seed: 3)
  let bytes = network.binaryEncoded(parameters: parameters)
  let decoded = try ConvNet.decode(bytes)
  #expect(decoded.network == network && decoded.parameters == parameters)
  var damaged = bytes
  damaged[40] ^= 1
  #expect(throws: BinaryFormatError.self) { try ConvNet.decode(damaged) }
  #expect(throws: BinaryFormatError.self) { try ConvNet.decode(Array(bytes.dropLast(5))) }
}
