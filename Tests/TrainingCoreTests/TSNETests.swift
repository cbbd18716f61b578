import Foundation
import Testing

@testable import TrainingCore

/// `clusters` Gaussian clusters of `perCluster` points in `dimensions` dimensions, unit standard
/// deviation around centres drawn N(0, spread²); labels are the cluster indices, points interleaved.
func gaussianClusters(clusters: Int, perCluster: Int, dimensions: Int, spread: Double, seed: UInt64)
  -> (points: Points, labels: [Int])
{
  var random = RandomStream(rootSeed: seed, stream: "test-clusters")
  let centres = (0..<clusters).map { _ in (0..<dimensions).map { _ in spread * random.normal() } }
  var coordinates: [Double] = []
  var labels: [Int] = []
  for _ in 0..<perCluster {
    for c in 0..<clusters {
      coordinates += centres[c].map { $0 + random.normal() }
      labels.append(c)
    }
  }
  return (Points(coordinates: coordinates, dimensions: dimensions), labels)
}

@Test func perplexitySearch_hitsTheTargetEntropy_forEveryPoint() {
  // Points at very different scales, so the β of dense and sparse regions differ by far.
  var random = RandomStream(rootSeed: 4, stream: "test-points")
  let n = 150, d = 5
  var coordinates: [Double] = []
  for i in 0..<n {
    coordinates += (0..<d).map { _ in random.normal() * (i % 3 == 0 ? 0.01 : i % 3 == 1 ? 1 : 30) }
  }
  let points = Points(coordinates: coordinates, dimensions: d)
  for perplexity in [5.0, 20, 40] {
    let result = TSNE.conditionalAffinities(
      squaredDistances: TSNE.squaredDistances(points), count: n, perplexity: perplexity, tolerance: 1e-5,
      maximumSteps: 50)
    #expect(result.misses == 0)
    for i in 0..<n {
      let row = Array(result.probabilities[(i * n)..<((i + 1) * n)])
      #expect(row[i] == 0)
      #expect(abs(row.reduce(0, +) - 1) < 1e-12)
      // The entropy recomputed from the row with the host's log, independently of the search's formula.
      let entropy = -row.filter { $0 > 0 }.map { $0 * Foundation.log($0) }.reduce(0, +)
      #expect(abs(entropy - Foundation.log(perplexity)) < 2e-5, "point \(i), perplexity \(perplexity)")
      #expect(abs(result.entropies[i] - Foundation.log(perplexity)) <= 1e-5)
    }
  }
}

/// KL(P‖Q) from the definition, in the plainest form, with the host's log.
func referenceDivergence(_ y: [Double], dimensions d: Int, affinities p: [Double]) -> Double {
  let n = y.count / d
  var w = [Double](repeating: 0, count: n * n)
  var total = 0.0
  for i in 0..<n {
    for j in 0..<n where i != j {
      let squared = (0..<d).map { (y[i * d + $0] - y[j * d + $0]) * (y[i * d + $0] - y[j * d + $0]) }.reduce(
        0, +)
      w[i * n + j] = 1 / (1 + squared)
      total += w[i * n + j]
    }
  }
  var kl = 0.0
  for i in 0..<n {
    for j in 0..<n where i != j && p[i * n + j] > 0 {
      kl += p[i * n + j] * Foundation.log(p[i * n + j] / (w[i * n + j] / total))
    }
  }
  return kl
}

@Test func tsneGradient_equalsCentralFiniteDifferenceOfTheDivergence() {
  var random = RandomStream(rootSeed: 9, stream: "test-gradient")
  let n = 8
  let data = Points(coordinates: (0..<(n * 4)).map { _ in random.normal() }, dimensions: 4)
  let conditional = TSNE.conditionalAffinities(
    squaredDistances: TSNE.squaredDistances(data), count: n, perplexity: 3, tolerance: 1e-10,
    maximumSteps: 100)
  let p = TSNE.jointAffinities(conditional: conditional.probabilities, count: n)
  for dimensions in [2, 3] {
    let y = Points(coordinates: (0..<(n * dimensions)).map { _ in random.normal() }, dimensions: dimensions)
    let gradient = TSNE.gradient(positions: y, affinities: p)
    #expect(
      abs(
        TSNE.divergence(positions: y, affinities: p)
          - referenceDivergence(y.coordinates, dimensions: dimensions, affinities: p)) < 1e-12)
    let h = 1e-5
    for index in y.coordinates.indices {
      var plus = y.coordinates, minus = y.coordinates
      plus[index] += h
      minus[index] -= h
      let difference =
        (referenceDivergence(plus, dimensions: dimensions, affinities: p)
          - referenceDivergence(minus, dimensions: dimensions, affinities: p)) / (2 * h)
      #expect(
        abs(gradient.coordinates[index] - difference) < 1e-8 * max(1, abs(difference)),
        "coordinate \(index) of a \(dimensions)-D map")
    }
  }
  // The 2-D loop and the general one agree bit for bit: a 3-D map whose third coordinates are 0
  // has the 2-D map's gradient in its first two.
  let planar = Points(coordinates: (0..<(n * 2)).map { _ in random.normal() }, dimensions: 2)
  let flat = Points(coordinates: (0..<n).flatMap { [planar[$0, 0], planar[$0, 1], 0] }, dimensions: 3)
  let planarGradient = TSNE.gradient(positions: planar, affinities: p)
  let flatGradient = TSNE.gradient(positions: flat, affinities: p)
  for i in 0..<n {
    for k in 0..<2 { #expect(planarGradient[i, k].bitPattern == flatGradient[i, k].bitPattern) }
    #expect(flatGradient[i, 2] == 0)
  }
}

@Test func tsne_separatesWellSeparatedClusters_andFindsNoStructureInRandomLabels() {
  let clusters = gaussianClusters(clusters: 3, perCluster: 40, dimensions: 10, spread: 6, seed: 1)
  let embedding = TSNE().embed(clusters.points, seed: 7)
  #expect(embedding.points.count == 120 && embedding.points.dimensions == 2)
  #expect(embedding.perplexitySearchMisses == 0)
  #expect(embedding.points.coordinates.allSatisfy { $0.isFinite })
  let separated = nearestNeighbourAccuracy(points: embedding.points, labels: clusters.labels)
  #expect(separated >= 0.95)

  // One cluster with labels drawn at random: nothing to find, so about 1/3 (sd ≈ 0.04 for 120).
  let blob = gaussianClusters(clusters: 1, perCluster: 120, dimensions: 10, spread: 0, seed: 2)
  var random = RandomStream(rootSeed: 3, stream: "test-labels")
  let labels = (0..<120).map { _ in random.uniformInt(below: 3) }
  let chance = nearestNeighbourAccuracy(points: TSNE().embed(blob.points, seed: 7).points, labels: labels)
  #expect(chance > 0.2 && chance < 0.47, "accuracy \(chance)")
}

@Test func tsne_withTheSameSeed_givesBitIdenticalMaps_andAnotherSeedDoesNot() {
  let clusters = gaussianClusters(clusters: 4, perCluster: 15, dimensions: 12, spread: 4, seed: 5)
  let tsne = TSNE(settings: TSNESettings { $0.iterations = 300 })
  let first = tsne.embed(clusters.points, seed: 42)
  let second = tsne.embed(clusters.points, seed: 42)
  let other = tsne.embed(clusters.points, seed: 43)
  #expect(first.points.coordinates.map(\.bitPattern) == second.points.coordinates.map(\.bitPattern))
  #expect(first.divergence.bitPattern == second.divergence.bitPattern)
  #expect(first.points.coordinates != other.points.coordinates)
}

/// FNV-1a over the bit patterns of `values`, in order.
func bitChecksum(_ values: [Double]) -> UInt64 {
  var hash: UInt64 = 0xCBF2_9CE4_8422_2325
  for value in values {
    var bits = value.bitPattern
    for _ in 0..<8 {
      hash = (hash ^ (bits & 0xFF)) &* 0x0000_0100_0000_01B3
      bits >>= 8
    }
  }
  return hash
}

/// A golden run: these bits were recorded when t-SNE was written. A change that moves them (a
/// reordered sum, another exp) must say so in its commit message and update the number.
@Test func tsne_goldenRun_keepsItsBits() {
  let clusters = gaussianClusters(clusters: 4, perCluster: 15, dimensions: 12, spread: 4, seed: 5)
  let embedding = TSNE(settings: TSNESettings { $0.iterations = 300 }).embed(clusters.points, seed: 42)
  #expect(
    bitChecksum(embedding.points.coordinates) == 16_610_418_956_954_777_604,
    "checksum \(bitChecksum(embedding.points.coordinates))")
}

@Test func nearestNeighbourAccuracy_onHandMadePoints_breaksTiesBySmallerIndexThenSmallerLabel() {
  // Points on a line: 0, 1, 2 (label 0), 10, 11, 12 (label 1), 20 (label 1), 21 (label 0).
  let points = Points(coordinates: [0, 1, 2, 10, 11, 12, 20, 21], dimensions: 1)
  let labels = [0, 0, 0, 1, 1, 1, 1, 0]
  // k = 1: every point's nearest has its label except 20 (→ 21, label 0) and 21 (→ 20, label 1).
  #expect(nearestNeighbourAccuracy(points: points, labels: labels, k: 1) == 6.0 / 8)
  // k = 2: point 20's neighbours are 21 (label 0) and 12 (label 1), a tie won by label 0: wrong;
  // point 21's are 20 and 12, both label 1: wrong; the other six vote for their own label.
  #expect(nearestNeighbourAccuracy(points: points, labels: labels, k: 2) == 6.0 / 8)
  // Equal distances: point 1 is as far from point 0 as from point 2, and k = 1 takes the smaller
  // index, 0. With labels [0, 0, 1] that is right for point 1 (taking point 2 would be wrong).
  let tie = Points(coordinates: [0, 1, 2], dimensions: 1)
  #expect(nearestNeighbourAccuracy(points: tie, labels: [0, 0, 1], k: 1) == 2.0 / 3)
  #expect(nearestNeighbourAccuracy(points: tie, labels: [1, 0, 1], k: 1) == 0)
  // Tied votes go to the smaller label. Centre (label 3) between neighbours labelled 3 and 5: 3
  // wins, right; the right point's neighbours are the centre (3) and the left point (5): 3, right;
  // the left point (5) hears 3 and 3: wrong. (Ties to the larger label would score 0.)
  let line = Points(coordinates: [0, 0, 1, 0, -1, 0], dimensions: 2)
  #expect(nearestNeighbourAccuracy(points: line, labels: [3, 3, 5], k: 2) == 2.0 / 3)
  #expect(nearestNeighbourAccuracy(points: line, labels: [5, 3, 5], k: 2) == 0)
}
