import Datasets
import Foundation
import TrainingCore

/// One pretraining minibatch step of a LeNet (forward, cross-entropy, backward, SGD with momentum
/// 0.5 at 0.01; batch 64) on Fashion-MNIST's first training images, `steps` steps after 5 untimed
/// ones: one line "lenet-NAME steps µs_per_step cpu_µs_per_step loss_checksum" per network
/// (`paper`: [20, 50, 500, 10]; `smoke`: [6, 12, 64, 10]). tools/bench/convnet times JAX on the
/// same steps.
func benchmarkConvNet(steps: Int, networks: [String]) throws {
  let data = try DatasetSource.named("fashion-mnist").load()
  let batch = 64
  let images = data.train.images.prefix(batch * 64 * 28 * 28).map { Float($0) / 255 }
  let labels = data.train.labels.prefix(batch * 64).map { Int32($0) }
  let batches = labels.count / batch
  for name in networks {
    let network = try name == "smoke" ? ConvNet.smokeLeNet(classes: 10) : ConvNet.paperLeNet(classes: 10)
    var classifier = ConvNetClassifier(
      network: network, seed: 1, optimizer: MomentumSGD(learningRate: 0.01, momentum: 0.5),
      batchCapacity: batch)
    var checksum = 0.0
    func step(_ k: Int) {
      let b = k % batches
      images.withUnsafeBufferPointer { images in
        labels.withUnsafeBufferPointer { labels in
          checksum += classifier.step(
            images: UnsafeBufferPointer(rebasing: images[(b * batch * 784)..<((b + 1) * batch * 784)]),
            labels: UnsafeBufferPointer(rebasing: labels[(b * batch)..<((b + 1) * batch)]))
        }
      }
    }
    for k in 0..<5 { step(k) }
    let cpuStart = threadMicroseconds()
    let elapsed = ContinuousClock().measure {
      for k in 5..<(5 + steps) { step(k) }
    }
    let cpu = threadMicroseconds() - cpuStart
    print(
      "lenet-\(name)  \(steps)  \(String(format: "%.1f", elapsed.inSeconds / Double(steps) * 1e6))  \(String(format: "%.1f", cpu / Double(steps)))  \(checksum)"
    )
  }
}
