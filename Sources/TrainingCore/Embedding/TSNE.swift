/// t-distributed stochastic neighbour embedding (van der Maaten and Hinton 2008, "Visualizing
/// Data using t-SNE", JMLR 9): a map of points in two (or a few) dimensions whose neighbourhoods
/// match those of the data, as in the crossprop paper's Fig. 4.
///
/// The data's affinities are Gaussian, pⱼ|ᵢ ∝ exp(−βᵢ‖xᵢ − xⱼ‖²) with each βᵢ searched so that
/// pᵢ|· has the set perplexity, symmetrised as pᵢⱼ ∝ pⱼ|ᵢ + pᵢ|ⱼ (normalised to sum to 1, so
/// about /2n); the map's are Student-t, qᵢⱼ ∝ (1 + ‖yᵢ − yⱼ‖²)⁻¹. The map descends KL(P‖Q) by
/// the exact gradient
/// ∂KL/∂yᵢ = 4Σⱼ(pᵢⱼ − qᵢⱼ)(yᵢ − yⱼ)(1 + ‖yᵢ − yⱼ‖²)⁻¹, in O(n²) per step, with momentum,
/// per-coordinate gains and early exaggeration, as the reference implementation does:
///
///     g = αΣⱼ pᵢⱼwᵢⱼ(yᵢ − yⱼ) − Σⱼ wᵢⱼ²(yᵢ − yⱼ)/Z        (∂KL/∂y / 4, α = 12 early, then 1)
///     gain ← gain + 0.2 if sign(g) ≠ sign(Δ), else 0.8·gain; at least `minimumGain`
///     Δ ← μΔ − η·gain·g;  y ← y + Δ;  then y is centred on 0.
///
/// Before the affinities, the data is projected on its first 50 principal components
/// (``PrincipalComponents``; ``TSNESettings/principalComponents``), centred, and divided by its
/// largest absolute coordinate (bhtsne's normalisation; only the search's starting β feels the
/// scale, since the βᵢ absorb it).
///
/// Guarantees:
/// - A fixed function of (data bits, settings, seed): the initial map is N(0, σ²) from
///   `RandomStream(rootSeed: seed, stream: "tsne")`, point by point, coordinate by coordinate;
///   every sum runs in a fixed order on one thread; exp and log are ``DeterministicMath``'s. So
///   the same call gives the same bits on every run, host and build.
/// - Cost: O(n²·(D′ + search steps)) for the affinities (D′ = 50) and O(n²·d) per step, on one
///   thread. For the paper's 2,500 × 1,024 hidden activations, in a release build: PCA 1.2 s,
///   affinities 1.0 s, 1,000 steps 3.3 s, about 6 s in all (CPU time, `metasweep-bench tsne`).
public struct TSNE: Sendable {
  /// The settings every embedding uses.
  public let settings: TSNESettings

  public init(settings: TSNESettings = TSNESettings()) {
    self.settings = settings
  }

  /// Embeds `data` (n points, n > perplexity) into a map of ``TSNESettings/outputDimensions``,
  /// with the initial map drawn from `seed`'s `"tsne"` stream.
  public func embed(_ data: Points, seed: UInt64) -> TSNEEmbedding {
    let n = data.count
    precondition(settings.outputDimensions >= 1, "a map needs at least one dimension")
    precondition(
      settings.perplexity > 0 && settings.perplexity < Double(n),
      "t-SNE of \(n) points needs 0 < perplexity < \(n)")

    var input = data
    if let components = settings.principalComponents {
      input = PrincipalComponents(fitting: data, componentCount: components).project(data)
    } else {
      var mean = [Double](repeating: 0, count: data.dimensions)
      for i in 0..<n {
        for k in 0..<data.dimensions { mean[k] += data[i, k] }
      }
      for i in 0..<n {
        for k in 0..<data.dimensions { input[i, k] -= mean[k] / Double(n) }
      }
    }
    let largest = input.coordinates.reduce(0) { max($0, abs($1)) }
    if largest > 0 {
      for index in input.coordinates.indices { input.coordinates[index] /= largest }
    }

    let conditional = Self.conditionalAffinities(
      squaredDistances: Self.squaredDistances(input), count: n, perplexity: settings.perplexity,
      tolerance: settings.entropyTolerance, maximumSteps: settings.maximumSearchSteps)
    let joint = Self.jointAffinities(conditional: conditional.probabilities, count: n)

    var random = RandomStream(rootSeed: seed, stream: "tsne")
    var start = [Double](repeating: 0, count: n * settings.outputDimensions)
    for index in start.indices { start[index] = settings.initialStandardDeviation * random.normal() }
    var map = TSNEMap(
      points: Points(coordinates: start, dimensions: settings.outputDimensions), affinities: joint)
    optimise(&map)
    return TSNEEmbedding(
      points: map.points, divergence: map.divergence(), perplexitySearchMisses: conditional.misses)
  }

  /// Runs ``TSNESettings/iterations`` steps of gradient descent with momentum and gains on `map`.
  func optimise(_ map: inout TSNEMap) {
    let size = map.positions.count
    var attraction = [SIMD4<Double>](repeating: SIMD4(), count: size)
    var repulsion = attraction
    var step = attraction
    var gains = [SIMD4<Double>](repeating: SIMD4(repeating: 1), count: size)
    let minimumGain = SIMD4(repeating: settings.minimumGain)
    let rate = settings.learningRate
    // Lanes past the last point stay 0, so they never move and never shift the mean.
    var isPoint = [SIMD4<Double>](repeating: SIMD4(), count: map.blocks)
    for i in 0..<map.count { isPoint[i / 4][i % 4] = 1 }

    for iteration in 0..<settings.iterations {
      let exaggeration = iteration < settings.exaggeratedIterations ? settings.earlyExaggeration : 1
      let momentum =
        iteration < settings.momentumSwitchIteration ? settings.initialMomentum : settings.finalMomentum
      let total = map.accumulateForces(attraction: &attraction, repulsion: &repulsion)
      let inverseTotal = 1 / total
      for k in 0..<map.dimensions {
        var sums = SIMD4<Double>()
        for b in 0..<map.blocks {
          let slot = k * map.blocks + b
          let gradient = exaggeration * attraction[slot] - repulsion[slot] * inverseTotal
          // sign(g) ≠ sign(Δ), with sign(0) = 0 as in the reference.
          let gradientSign = Self.sign(gradient), stepSign = Self.sign(step[slot])
          var gain = (gains[slot] * 0.8).replacing(with: gains[slot] + 0.2, where: gradientSign .!= stepSign)
          gain.replace(with: minimumGain, where: gain .< minimumGain)
          gains[slot] = gain
          step[slot] = (momentum * step[slot] - rate * gain * gradient) * isPoint[b]
          map.positions[slot] += step[slot]
          sums += map.positions[slot]
        }
        let mean = ((sums[0] + sums[1]) + (sums[2] + sums[3])) / Double(map.count)
        for b in 0..<map.blocks { map.positions[k * map.blocks + b] -= mean * isPoint[b] }
      }
    }
  }

  /// −1, 0 or 1 lane by lane.
  @inline(__always)
  private static func sign(_ x: SIMD4<Double>) -> SIMD4<Double> {
    SIMD4<Double>(repeating: 0).replacing(with: 1, where: x .> 0).replacing(with: -1, where: x .< 0)
  }
}

/// A t-SNE map of a set of points, with its final divergence.
public struct TSNEEmbedding: Sendable, Equatable {
  /// The map: one point per data point, in the data's order.
  public var points: Points
  /// KL(P‖Q) of the final map, in nats (without exaggeration).
  public var divergence: Double
  /// How many points' β search stopped at ``TSNESettings/maximumSearchSteps`` farther than
  /// ``TSNESettings/entropyTolerance`` from the target entropy (0 when every search converged).
  public var perplexitySearchMisses: Int
}
