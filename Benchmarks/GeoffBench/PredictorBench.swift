import Foundation
import TrainingCore

/// The gradient-reconstruction paper's predictor pass over all coordinates (issue 16's
/// benchmark): for the smoke predictor (1-32-32-1 over P = 17,418, the smoke network's size) and
/// the paper's (1-256-256-256-1 over P = 335,114), one forward pass (``CoordinatePredictor/predict``)
/// and one forward-and-backward regression pass (``CoordinatePredictor/regression``), each with
/// `threads` threads, after one untimed pass; and the same shapes' matrix products alone through
/// OpenBLAS's sgemm (chunks of 16,384 rows, one thread), the FLOP rate the predictor is judged
/// against. One line per measurement: "predictor-NAME-PASS-tTHREADS P ms GFLOP/s". The shape
/// `smoke-c4096` is the smoke predictor with chunks of 4,096 coordinates (the experiment's `chunk`
/// parameter): at 16,384 the smoke shape is one big chunk and a small one, too few to share
/// between two threads.
func benchmarkPredictor(shapes: [String], threads: [Int], repeats: Int) throws {
  for name in shapes {
    let (hidden, count) = name == "paper" ? ([256, 256, 256], 335_114) : ([32, 32], 17_418)
    // `smoke-cN`: chunks of N coordinates.
    let chunkSize = name.split(separator: "-c").dropFirst().first.flatMap { Int($0) } ?? 16_384
    let widths = [1] + hidden + [1]
    var forwardMACs = 0
    var backwardMACs = 0
    for l in 1..<widths.count {
      forwardMACs += widths[l - 1] * widths[l]
      // ∂W for every layer, ∂x for every layer but the first.
      backwardMACs += widths[l - 1] * widths[l] * (l == 1 ? 1 : 2)
    }
    var random = RandomStream(seed: 7)
    let inputs = (0..<count).map { _ in Float(random.normal() * 0.05) }
    let targets = (0..<count).map { _ in Float(random.normal()) }
    for t in threads {
      var predictor = try CoordinatePredictor<Float>(hidden: hidden, chunk: chunkSize, threads: t)
      let phi = predictor.initialParameters(seed: 1, index: 0)
      var out = [Float](repeating: 0, count: count)
      predictor.predict(phi, inputs: inputs, into: &out)
      _ = predictor.regression(phi, inputs: inputs, targets: targets)
      let forward = bestWall(repeats) { predictor.predict(phi, inputs: inputs, into: &out) }
      let both = bestWall(repeats) { _ = predictor.regression(phi, inputs: inputs, targets: targets) }
      report("predictor-\(name)-forward-t\(t)", count, forward, flops: 2 * forwardMACs * count)
      report("predictor-\(name)-fwdbwd-t\(t)", count, both, flops: 2 * (forwardMACs + backwardMACs) * count)
    }
    // The forward pass's matrix products alone (the hidden-to-hidden layers, where the FLOPs are).
    let chunk = 16_384
    let big = hidden.count > 1 ? Array(zip(hidden.dropLast(), hidden.dropFirst())) : []
    let a = [Float](repeating: 0.5, count: chunk * (hidden.max() ?? 1))
    var c = a
    let w = [Float](repeating: 0.01, count: (hidden.max() ?? 1) * (hidden.max() ?? 1))
    var macs = 0
    let seconds = bestWall(repeats) {
      macs = 0
      var start = 0
      while start < count {
        let rows = min(chunk, count - start)
        for (k, n) in big {
          a.withUnsafeBufferPointer { a in
            w.withUnsafeBufferPointer { w in
              c.withUnsafeMutableBufferPointer { c in
                Float.gemm(
                  transposeA: false, transposeB: true, m: rows, n: n, k: k, alpha: 1, a: a.baseAddress!,
                  lda: k,
                  b: w.baseAddress!, ldb: k, beta: 0, c: c.baseAddress!, ldc: n)
              }
            }
          }
          macs += rows * n * k
        }
        start += rows
      }
    }
    if macs > 0 { report("sgemm-\(name)-hidden-layers-t1", count, seconds, flops: 2 * macs) }
  }
}

/// The fastest wall time of `repeats` runs of `body`, in seconds.
private func bestWall(_ repeats: Int, _ body: () -> Void) -> Double {
  var best = Double.infinity
  for _ in 0..<max(1, repeats) { best = min(best, ContinuousClock().measure(body).inSeconds) }
  return best
}

private func report(_ name: String, _ count: Int, _ seconds: Double, flops: Int) {
  print(
    "\(name)  \(count)  \(String(format: "%.3f", 1000 * seconds))  \(String(format: "%.2f", Double(flops) / seconds / 1e9))"
  )
}
