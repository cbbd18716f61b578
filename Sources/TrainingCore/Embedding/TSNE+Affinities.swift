/// The outcome of fitting each point's Gaussian to the perplexity: the conditional distributions
/// pⱼ|ᵢ, their precisions βᵢ and their entropies.
struct ConditionalAffinities: Sendable, Equatable {
  /// pⱼ|ᵢ at row i, column j (n×n, row-major); each row sums to 1 and pᵢ|ᵢ = 0.
  var probabilities: [Double]
  /// βᵢ = 1/(2σᵢ²) of each point's Gaussian, in units of the squared distances it was given.
  var precisions: [Double]
  /// The entropy of each row in nats, whose target is log(perplexity).
  var entropies: [Double]
  /// How many rows ended their search at the step limit, farther than the tolerance from the
  /// target.
  var misses: Int
}

extension TSNE {
  /// ‖xᵢ − xⱼ‖² for every pair (n×n, row-major, zero diagonal), each the sum of its squared
  /// differences: four running sums over the dimensions in chunks of four, added as
  /// (s₀ + s₁) + (s₂ + s₃), then the leftover dimensions in order. Symmetric by construction.
  static func squaredDistances(_ points: Points) -> [Double] {
    let n = points.count, d = points.dimensions
    var distances = [Double](repeating: 0, count: n * n)
    let chunked = d - d % 4
    points.coordinates.withUnsafeBufferPointer { x in
      distances.withUnsafeMutableBufferPointer { out in
        for i in 0..<n {
          let xi = UnsafeRawPointer(x.baseAddress! + i * d)
          for j in (i + 1)..<max(i + 1, n) {
            let xj = UnsafeRawPointer(x.baseAddress! + j * d)
            var sums = SIMD4<Double>()
            var offset = 0
            while offset < chunked * 8 {
              let difference =
                xi.loadUnaligned(fromByteOffset: offset, as: SIMD4<Double>.self)
                - xj.loadUnaligned(fromByteOffset: offset, as: SIMD4<Double>.self)
              sums += difference * difference
              offset &+= 32
            }
            var sum = (sums[0] + sums[1]) + (sums[2] + sums[3])
            for k in chunked..<d {
              let difference = x[i * d + k] - x[j * d + k]
              sum += difference * difference
            }
            out[i * n + j] = sum
            out[j * n + i] = sum
          }
        }
      }
    }
    return distances
  }

  /// Fits each row's Gaussian to the perplexity: pⱼ|ᵢ = exp(−βᵢdᵢⱼ) / Σₖ exp(−βᵢdᵢₖ) over k ≠ i,
  /// with βᵢ found by bisection so the entropy Hᵢ = −Σⱼ pⱼ|ᵢ log pⱼ|ᵢ is log(perplexity) (van der
  /// Maaten and Hinton 2008, section 2).
  ///
  /// The search is the reference implementation's: β starts at 1 and doubles (entropy too high)
  /// or halves (too low) until the target is bracketed, then bisects, for at most
  /// `maximumSteps` steps after the first evaluation or until |Hᵢ − log(perplexity)| ≤
  /// `tolerance`. Distances are taken relative to the row's smallest, which cancels in the
  /// normalisation, so the largest term is exactly 1 and no row underflows to 0/0; then
  /// Hᵢ = log Σⱼ eⱼ + βᵢ·Σⱼ dⱼeⱼ / Σⱼ eⱼ with eⱼ = exp(−βᵢdⱼ). exp and log are
  /// ``DeterministicMath``'s, and each sum runs in four lanes added as (s₀ + s₁) + (s₂ + s₃).
  static func conditionalAffinities(
    squaredDistances distances: [Double], count n: Int, perplexity: Double, tolerance: Double,
    maximumSteps: Int
  ) -> ConditionalAffinities {
    precondition(n >= 2, "t-SNE needs at least two points")
    precondition(
      perplexity > 0 && perplexity < Double(n), "perplexity \(perplexity) needs 0 < perplexity < \(n)")
    let target = DeterministicMath.log(perplexity)
    let blocks = (n + 3) / 4
    var probabilities = [Double](repeating: 0, count: n * n)
    var precisions = [Double](repeating: 1, count: n)
    var entropies = [Double](repeating: 0, count: n)
    var misses = 0
    // A row's shifted distances; the point itself and the padding get a distance so large that
    // exp(−β·d) is 0 for every β the search can reach (2⁻⁵⁰ ≤ β ≤ 2⁵⁰), and d·0 is 0.
    let far = 1e300
    var shifted = [SIMD4<Double>](repeating: SIMD4(repeating: far), count: blocks)
    var weights = [SIMD4<Double>](repeating: SIMD4(), count: blocks)

    for i in 0..<n {
      var nearest = Double.infinity
      for j in 0..<n where j != i { nearest = min(nearest, distances[i * n + j]) }
      for j in 0..<n { shifted[j / 4][j % 4] = j == i ? far : distances[i * n + j] - nearest }

      // Fills `weights` with eⱼ and returns Hᵢ(β).
      func entropy(_ beta: Double) -> Double {
        var sums = SIMD4<Double>(), weightedSums = SIMD4<Double>()
        for b in 0..<blocks {
          let e = DeterministicMath.exp(-beta * shifted[b])
          weights[b] = e
          sums += e
          weightedSums += e * shifted[b]
        }
        let sum = (sums[0] + sums[1]) + (sums[2] + sums[3])
        let weighted = (weightedSums[0] + weightedSums[1]) + (weightedSums[2] + weightedSums[3])
        return DeterministicMath.log(sum) + beta * weighted / sum
      }

      var beta = 1.0
      var lower = -Double.infinity, upper = Double.infinity
      var h = entropy(beta)
      var steps = 0
      while abs(h - target) > tolerance && steps < maximumSteps {
        if h > target {
          lower = beta
          beta = upper == .infinity ? beta * 2 : (beta + upper) / 2
        } else {
          upper = beta
          beta = lower == -.infinity ? beta / 2 : (beta + lower) / 2
        }
        h = entropy(beta)
        steps += 1
      }
      if abs(h - target) > tolerance { misses += 1 }

      var sums = SIMD4<Double>()
      for b in 0..<blocks { sums += weights[b] }
      let sum = (sums[0] + sums[1]) + (sums[2] + sums[3])
      for j in 0..<n { probabilities[i * n + j] = weights[j / 4][j % 4] / sum }
      precisions[i] = beta
      entropies[i] = h
    }
    return ConditionalAffinities(
      probabilities: probabilities, precisions: precisions, entropies: entropies, misses: misses)
  }

  /// The joint affinities pᵢⱼ = (pⱼ|ᵢ + pᵢ|ⱼ) / Σₖₗ(pₗ|ₖ + pₖ|ₗ): symmetric, summing to 1, zero
  /// diagonal (the total is summed row by row, in index order).
  static func jointAffinities(conditional p: [Double], count n: Int) -> [Double] {
    var joint = [Double](repeating: 0, count: n * n)
    var total = 0.0
    for i in 0..<n {
      for j in 0..<n {
        let value = p[i * n + j] + p[j * n + i]
        joint[i * n + j] = value
        total += value
      }
    }
    for index in joint.indices { joint[index] /= total }
    return joint
  }
}
