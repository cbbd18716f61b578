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

/// One inner meta-training step of the multi-task-teacher paper at the smoke size, as
/// `teacher-metatrain` runs it (``TeacherMetaTraining/train``): smoke LeNet with a 10-class union
/// head, meta-learners of 2 LSTM layers of 16 units, batches of 64 + 64 Fashion-MNIST images drawn
/// from the first 4,096 training images (task A: labels mod 5, task B: labels mod 5 + 5), windows of
/// `window` steps, Adam on θ, no episode cut (τ = ∞). Prints "teacher-inner-step steps µs_per_step
/// cpu_µs_per_step meta_checksum" for `steps` steps after 2 untimed windows. tools/bench/convnet
/// times tools/bench/teacher_step_jax.py on the same step.
func benchmarkTeacherStep(steps: Int, window: Int) throws {
  let data = try DatasetSource.named("fashion-mnist").load()
  let count = 4096
  let images = data.train.images.prefix(count * 784).map { Float($0) / 255 }
  let labels = data.train.labels.prefix(count).map { Int32($0) }
  let taskA = TeacherTaskImages(images: images, labels: labels.map { $0 % 5 }, pixelsPerImage: 784)
  let taskB = TeacherTaskImages(images: images, labels: labels.map { $0 % 5 + 5 }, pixelsPerImage: 784)
  let network = try ConvNet.smokeLeNet(classes: 10)
  var settings = TeacherMetaTrainingSettings()
  settings.episodes = 1
  settings.maxSteps = 2 * window + steps + 1
  settings.tauStart = .infinity
  settings.tauMax = .infinity
  settings.windowStart = window
  settings.windowMax = window
  var step = TeacherGuidedStep<Float>(network: network, settings: settings.step, batchCapacity: 128)
  var state = TeacherMetaTrainingState(step: step, settings: settings, seed: 2)
  let initial: [Float] = network.initialParameters(seed: 1)
  TeacherMetaTraining.train(
    &state, step: &step, settings: settings, pool: [initial], taskA: taskA, taskB: taskB, seed: 2,
    maxInnerSteps: 2 * window)
  let cpuStart = threadMicroseconds()
  let elapsed = ContinuousClock().measure {
    TeacherMetaTraining.train(
      &state, step: &step, settings: settings, pool: [initial], taskA: taskA, taskB: taskB, seed: 2,
      maxInnerSteps: steps)
  }
  let cpu = threadMicroseconds() - cpuStart
  let done = state.innerSteps - 2 * window
  let checksum = state.meta.joined().reduce(0.0) { $0 + Double($1) }
  print(
    "teacher-inner-step  \(done)  \(String(format: "%.1f", elapsed.inSeconds / Double(done) * 1e6))  \(String(format: "%.1f", cpu / Double(done)))  \(checksum)"
  )
}
