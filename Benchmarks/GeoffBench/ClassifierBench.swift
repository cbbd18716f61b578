import TrainingCore

/// The crossprop paper's MNIST learner (784-1024-10) on `steps` images whose pixels are about half
/// zero (Fashion-MNIST's share), one example a step: prints "classifier-ALGORITHM steps
/// µs_per_example fingerprint" per rule (thread CPU time, fastest of `repeats`).
func benchmarkClassifier(steps: Int, repeats: Int, algorithms: [LearningAlgorithm]) {
  var random = RandomStream(rootSeed: 1, stream: "bench-images")
  let images = (0..<steps).map { _ in
    (0..<784).map { _ in random.bernoulli(0.5) ? 0 : UInt8(1 + random.uniformInt(below: 255)) }
  }
  let labels = (0..<steps).map { _ in random.uniformInt(below: 10) }
  let chosen = algorithms.isEmpty ? [.backprop, .momentum, .rmsprop, .adam, .crosspropApprox] : algorithms
  for algorithm in chosen {
    var settings = OnlineClassifierSettings()
    settings.rule.algorithm = algorithm
    let start = OnlineClassifier(settings: settings, seed: 1)
    var best = Double.infinity
    var fingerprint: UInt64 = 0
    for _ in 0..<max(repeats, 1) {
      var classifier = start
      let before = threadMicroseconds()
      for (image, label) in zip(images, labels) {
        image.withUnsafeBufferPointer { _ = classifier.learn($0, label: label) }
      }
      best = min(best, (threadMicroseconds() - before) / Double(steps))
      fingerprint = classifier.outputBiases.reduce(UInt64(0)) { $0 &* 31 &+ UInt64($1.bitPattern) }
    }
    print("classifier-\(algorithm.rawValue)  \(steps)  \(best)  \(String(fingerprint, radix: 16))")
  }
}
