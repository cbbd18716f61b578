/// Permuted-image tasks (meta-experiments.md §1.1): task i shows every image with its pixels
/// reordered by a fixed permutation π_i, drawn from stream "perm" indexed by i of the run's seed;
/// task 0 is the identity unless every task is drawn.
public struct PermutedTasks: Sendable {
  /// Training and test images (count × pixels, in [0, 1]) and their labels.
  public let trainImages: [Float]
  public let trainLabels: [Int32]
  public let testImages: [Float]
  public let testLabels: [Int32]
  public let pixels: Int
  public let classes: Int
  /// π_i for every task: image pixel k of task i is original pixel π_i[k].
  public let permutations: [[Int]]

  public init(
    trainImages: [Float], trainLabels: [Int32], testImages: [Float], testLabels: [Int32], pixels: Int,
    classes: Int, tasks: Int, seed: UInt64, permuteFirst: Bool
  ) {
    precondition(
      trainImages.count == trainLabels.count * pixels && testImages.count == testLabels.count * pixels)
    precondition(!trainLabels.isEmpty && !testLabels.isEmpty && tasks >= 1)
    self.trainImages = trainImages
    self.trainLabels = trainLabels
    self.testImages = testImages
    self.testLabels = testLabels
    self.pixels = pixels
    self.classes = classes
    permutations = (0..<tasks).map {
      Self.permutation(task: $0, pixels: pixels, seed: seed, permuteFirst: permuteFirst)
    }
  }

  public var tasks: Int { permutations.count }

  /// π_task: the identity for task 0 unless `permuteFirst`, else a Fisher–Yates shuffle of
  /// 0 ..< pixels from `RandomStream(rootSeed: seed, stream: "perm", indices: [task])`.
  public static func permutation(task: Int, pixels: Int, seed: UInt64, permuteFirst: Bool) -> [Int] {
    var order = Array(0..<pixels)
    if task > 0 || permuteFirst {
      var random = RandomStream(rootSeed: seed, stream: "perm", indices: [UInt64(task)])
      random.shuffle(&order)
    }
    return order
  }

  /// Training images `indices` as task `task` shows them, and their labels.
  public func trainBatch(task: Int, indices: [Int]) -> (images: [Float], labels: [Int32]) {
    (permuted(trainImages, indices: indices, task: task), indices.map { trainLabels[$0] })
  }

  /// `count` training images drawn with replacement from stream `stream` indexed by `indices`.
  public func drawnBatch(task: Int, count: Int, seed: UInt64, stream: String, indices: [UInt64]) -> (
    images: [Float], labels: [Int32]
  ) {
    var random = RandomStream(rootSeed: seed, stream: stream, indices: indices)
    return trainBatch(
      task: task, indices: (0..<count).map { _ in random.uniformInt(below: trainLabels.count) })
  }

  /// Test images `range` as task `task` shows them.
  public func testBatch(task: Int, range: Range<Int>) -> [Float] {
    permuted(testImages, indices: Array(range), task: task)
  }

  private func permuted(_ source: [Float], indices: [Int], task: Int) -> [Float] {
    let order = permutations[task]
    var out = [Float](repeating: 0, count: indices.count * pixels)
    source.withUnsafeBufferPointer { source in
      out.withUnsafeMutableBufferPointer { out in
        for (slot, index) in indices.enumerated() {
          let from = source.baseAddress! + index * pixels
          let to = out.baseAddress! + slot * pixels
          for k in 0..<pixels { to[k] = from[order[k]] }
        }
      }
    }
    return out
  }
}

/// The sign-agreement update of the paper's eqn (5): a coordinate of the new task's gradient is
/// applied only where it has the sign of the old tasks' (predicted) mean gradient.
public enum SignAgreement {
  /// δ_j = g_j where g_j · p̄_j > 0, else 0 (a zero product counts as disagreeing); returns how
  /// many coordinates were zeroed. The signs are compared rather than the product formed, which
  /// could underflow to 0 for two tiny values of one sign.
  @discardableResult
  public static func apply(gradient: [Float], prediction: [Float], into delta: inout [Float]) -> Int {
    precondition(gradient.count == prediction.count && delta.count == gradient.count)
    var zeroed = 0
    for j in gradient.indices {
      let (g, p) = (gradient[j], prediction[j])
      if (g > 0 && p > 0) || (g < 0 && p < 0) {
        delta[j] = gradient[j]
      } else {
        delta[j] = 0
        zeroed += 1
      }
    }
    return zeroed
  }
}
