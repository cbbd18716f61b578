import Foundation
import TrainingCore

/// Synthetic stand-ins for the crossprop paper's Fig. 4 input: the tanh hidden activations of a
/// 784–`hiddenUnits` layer with N(0, 1) weights and biases (the MNIST network's initialisation,
/// heavily saturated) on `count` images of ten classes. The classes' prototypes are one random
/// pattern (30% of pixels on) with 8% of its pixels flipped per class, and an image keeps each on
/// pixel of its prototype with probability 0.55 and turns on 15% of the others, with intensities
/// uniform in [0.5, 1]; so classes overlap (5-NN accuracy in the activations is about 0.8).
/// Labels cycle 0...9.
func syntheticActivations(count: Int, hiddenUnits: Int, seed: UInt64) -> (points: Points, labels: [Int]) {
  let pixels = 784
  var random = RandomStream(rootSeed: seed, stream: "bench-images")
  let shared = (0..<pixels).map { _ in random.bernoulli(0.3) }
  let prototypes = (0..<10).map { _ in shared.map { random.bernoulli(0.08) ? !$0 : $0 } }
  var weights = RandomStream(rootSeed: seed, stream: "bench-weights")
  let u = (0..<(pixels * hiddenUnits)).map { _ in Float(weights.normal()) }
  let bias = (0..<hiddenUnits).map { _ in Float(weights.normal()) }
  var activations = [Float](repeating: 0, count: count * hiddenUnits)
  var labels: [Int] = []
  var preActivation = [Float](repeating: 0, count: hiddenUnits)
  for i in 0..<count {
    let label = i % 10
    labels.append(label)
    preActivation = bias
    for p in 0..<pixels {
      let isOn = prototypes[label][p] ? random.bernoulli(0.55) : random.bernoulli(0.15)
      guard isOn else { continue }
      let intensity = Float(0.5 + 0.5 * random.uniformDouble())
      for h in 0..<hiddenUnits { preActivation[h] += intensity * u[p * hiddenUnits + h] }
    }
    for h in 0..<hiddenUnits { activations[i * hiddenUnits + h] = DeterministicMath.tanh(preActivation[h]) }
  }
  return (Points(widening: activations, dimensions: hiddenUnits), labels)
}

/// `metasweep-bench tsne [points] [hidden] [seed] [csv]`: times t-SNE with the paper's settings
/// (PCA to 50, perplexity 20, 1,000 steps) on ``syntheticActivations(count:hiddenUnits:seed:)``
/// and prints one line: "tsne points hidden pca_s affinities_s embed_after_pca_s total_s knn_map
/// knn_raw divergence misses checksum". Times are the thread's CPU seconds: PCA alone (fit and
/// project); t-SNE of the projected points with 0 steps (normalisation, perplexity search,
/// symmetrised P, final divergence) and with 1,000; and the whole `TSNE().embed` of the raw
/// activations. The checksum is FNV-1a of the map's bits, so two runs
/// (or builds) can be compared for bit-identity. With a path, the map is written there as
/// `x,y,label` lines.
func benchmarkEmbedding(count: Int, hiddenUnits: Int, seed: UInt64, csvPath: String?) {
  let data = syntheticActivations(count: count, hiddenUnits: hiddenUnits, seed: seed)
  var start = threadMicroseconds()
  let pca = PrincipalComponents(fitting: data.points, componentCount: 50)
  let projected = pca.project(data.points)
  let pcaSeconds = (threadMicroseconds() - start) / 1e6

  start = threadMicroseconds()
  _ = TSNE(settings: TSNESettings { $0.principalComponents = nil }).embed(projected, seed: seed)
  let afterPCASeconds = (threadMicroseconds() - start) / 1e6

  start = threadMicroseconds()
  _ = TSNE(
    settings: TSNESettings {
      $0.principalComponents = nil; $0.iterations = 0
    }
  ).embed(projected, seed: seed)
  let affinitySeconds = (threadMicroseconds() - start) / 1e6

  start = threadMicroseconds()
  let embedding = TSNE().embed(data.points, seed: seed)
  let totalSeconds = (threadMicroseconds() - start) / 1e6

  let mapAccuracy = nearestNeighbourAccuracy(points: embedding.points, labels: data.labels)
  let rawAccuracy = nearestNeighbourAccuracy(points: data.points, labels: data.labels)
  var hash: UInt64 = 0xCBF2_9CE4_8422_2325
  for value in embedding.points.coordinates {
    var bits = value.bitPattern
    for _ in 0..<8 {
      hash = (hash ^ (bits & 0xFF)) &* 0x0000_0100_0000_01B3
      bits >>= 8
    }
  }
  print(
    "tsne  \(count)  \(hiddenUnits)  \(pcaSeconds)  \(affinitySeconds)  \(afterPCASeconds)  \(totalSeconds)  \(mapAccuracy)  \(rawAccuracy)  \(embedding.divergence)  \(embedding.perplexitySearchMisses)  \(String(hash, radix: 16))"
  )
  if let csvPath {
    var text = ""
    for i in 0..<embedding.points.count {
      text += "\(embedding.points[i, 0]),\(embedding.points[i, 1]),\(data.labels[i])\n"
    }
    _ = FileManager.default.createFile(atPath: csvPath, contents: Data(text.utf8))
  }
}
