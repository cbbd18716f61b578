import Datasets
import TrainingCore

/// The crossprop paper's image learner (784-1024-10) on the first `steps` Fashion-MNIST training
/// images, one example a step (thread CPU time, fastest of `repeats`), with the memory-traffic
/// bound of each step. Prints per rule:
/// "classifier-ALGORITHM steps µs_per_example bound_µs bytes_per_step fingerprint".
///
/// The bound is the time the bytes a step cannot avoid moving take at the bandwidth this core gets
/// from a streaming loop (a[i] = a[i]·s + b[i]) over a working set of the step's size (all the
/// weights and slots, since each image touches other rows of U), so from the same cache level:
/// - backprop and crossprop-approx: the U rows of the non-zero pixels and the bias row, each
///   weight read once and written once (2 × 4 bytes: the forward pass that reads a row can apply
///   the last update to it, as `OnlineClassifier` does), W likewise and crossprop-approx's h too;
/// - momentum, RMSProp, Adam (TF1 steps every parameter): each parameter and its 1 or 2 slots read
///   and written once (RMSProp: the weight itself only where x is not 0, its slot everywhere).
/// It assumes a step's reads for the forward pass fuse with the last step's writes, so no real
/// step can beat it by much; ratios below 1 mean the rows an image touches stayed in a nearer
/// cache than the working set the streaming loop was timed on.
///
/// RMSProp and Adam also divide by a square root for every weight they move (Adam: all of them;
/// RMSProp: those with a gradient), and IEEE division and square root are the slowest lane
/// operations there are. Their bound is the larger of the traffic bound and the time this core
/// takes for that many eight-lane √ and ÷ on data in L1 (`divisionMicroseconds`); the last column
/// says which one binds ("memory" or "divide").
func benchmarkClassifier(steps: Int, repeats: Int, algorithms: [LearningAlgorithm]) throws {
  let data = try DatasetSource.named("fashion-mnist").load()
  let steps = min(steps, data.train.count)
  let perImage = data.pixelsPerImage
  let nonZero = Double(data.train.images.prefix(steps * perImage).filter { $0 != 0 }.count) / Double(steps)
  let chosen = algorithms.isEmpty ? [.backprop, .momentum, .rmsprop, .adam, .crosspropApprox] : algorithms
  let (inputs, hidden, classes) = (perImage, 1024, data.classes)
  let parameters = Double((inputs + 1) * hidden + (hidden + 1) * classes)
  let activeWeights = (nonZero + 1) * Double(hidden)
  print("# fashion-mnist, first \(steps) images, \(String(format: "%.1f", nonZero)) non-zero pixels an image")
  for algorithm in chosen {
    var settings = OnlineClassifierSettings()
    settings.inputs = inputs
    settings.classes = classes
    settings.rule.algorithm = algorithm
    let start = OnlineClassifier(settings: settings, seed: 1)
    var best = Double.infinity
    var fingerprint: UInt64 = 0
    for _ in 0..<max(repeats, 1) {
      var classifier = start
      let before = threadMicroseconds()
      data.train.images.withUnsafeBufferPointer { pixels in
        for index in 0..<steps {
          let image = UnsafeBufferPointer(rebasing: pixels[(index * perImage)..<((index + 1) * perImage)])
          _ = classifier.learn(image, label: Int(data.train.labels[index]))
        }
      }
      best = min(best, (threadMicroseconds() - before) / Double(steps))
      // The network's record ends with an FNV-1a 64 checksum of every weight: equal for bit-identical
      // networks, so builds can be compared at full length.
      fingerprint = classifier.networkBytes().suffix(8).reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
    }
    let output = Double(hidden * classes)
    let (bytes, workingSet): (Double, Double) =
      switch algorithm {
      case .backprop: (8 * (activeWeights + output), 4 * parameters)
      case .crosspropApprox: (8 * (activeWeights + output) + 8 * output, 4 * (parameters + output))
      case .momentum: (16 * parameters, 8 * parameters)
      case .rmsprop: (8 * parameters + 8 * activeWeights, 8 * parameters)
      case .adam: (24 * parameters, 12 * parameters)
      case .crossprop: (.nan, .nan)
      }
    let bandwidth = streamingBandwidth(workingSetBytes: Int(workingSet), repeats: 20)
    let divisions: Double =
      switch algorithm {
      case .adam: parameters
      case .rmsprop: activeWeights + output + Double(classes)
      default: 0
      }
    let traffic = bytes / bandwidth
    let arithmetic = divisions * divisionMicroseconds(repeats: 20)
    print(
      "classifier-\(algorithm.rawValue)  \(steps)  \(best)  \(max(traffic, arithmetic))  \(Int(bytes))  "
        + String(fingerprint, radix: 16) + (arithmetic > traffic ? "  divide" : "  memory"))
  }
}

/// Bytes per µs a streaming loop a[i] = a[i]·s + b[i] moves (8 read, 4 written an element) over
/// two arrays of `workingSetBytes` together: the fastest of `repeats` passes after a warm-up.
func streamingBandwidth(workingSetBytes: Int, repeats: Int) -> Double {
  let count = max(workingSetBytes / 8, 1024)
  var a = [Float](repeating: 1, count: count)
  let b = [Float](repeating: 0.5, count: count)
  var best = Double.infinity
  a.withUnsafeMutableBufferPointer { a in
    b.withUnsafeBufferPointer { b in
      for pass in 0...repeats {
        let before = threadMicroseconds()
        for i in 0..<count { a[i] = a[i] * 0.999 + b[i] }
        if pass > 0 { best = min(best, threadMicroseconds() - before) }
      }
    }
  }
  blackHole(a[count / 2])
  return Double(12 * count) / best
}

/// µs per lane of Adam's division a·m/(√v + ε) on eight lanes at a time, over 4,096 `Float`s that
/// stay in L1: the fastest of `repeats` passes after a warm-up.
func divisionMicroseconds(repeats: Int) -> Double {
  let count = 512
  var m = [FloatLanes](repeating: FloatLanes(repeating: 0.25), count: count)
  let v = [FloatLanes](repeating: FloatLanes(repeating: 0.5), count: count)
  var best = Double.infinity
  m.withUnsafeMutableBufferPointer { m in
    v.withUnsafeBufferPointer { v in
      for pass in 0...repeats {
        let before = threadMicroseconds()
        for _ in 0..<64 {
          for i in 0..<count { m[i] = 0.999 * m[i] / (DeterministicMath.squareRoot(v[i]) + 1e-8) }
        }
        if pass > 0 { best = min(best, (threadMicroseconds() - before) / Double(64 * count * 8)) }
      }
    }
  }
  blackHole(m[count / 2][0])
  return best
}

/// Keeps `value` alive so the loop that made it is not optimised away.
@inline(never) func blackHole(_ value: Float) {
  if value.isNaN { print("") }
}
