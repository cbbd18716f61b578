import Foundation
import Testing

@testable import TrainingCore

/// `count` orthonormal vectors of `dimensions` coordinates (Gram–Schmidt on normal draws), row-major.
func orthonormalRows(count: Int, dimensions: Int, seed: UInt64) -> [[Double]] {
  var random = RandomStream(rootSeed: seed, stream: "test-basis")
  var rows: [[Double]] = []
  while rows.count < count {
    var v = (0..<dimensions).map { _ in random.normal() }
    for u in rows {
      let dot = zip(u, v).map { $0 * $1 }.reduce(0, +)
      for j in 0..<dimensions { v[j] -= dot * u[j] }
    }
    let norm = v.map { $0 * $0 }.reduce(0, +).squareRoot()
    rows.append(v.map { $0 / norm })
  }
  return rows
}

@Test func principalComponents_recoverKnownDirectionsAndVariances_ofDataBuiltFromThem() {
  // Two points at mean ± aₖuₖ per direction uₖ: the centred data's covariance is exactly
  // Σₖ 2aₖ²uₖuₖᵀ/(n − 1), so the components are the uₖ (up to sign) with variances 2aₖ²/(n − 1).
  let dimensions = 7
  let basis = orthonormalRows(count: dimensions, dimensions: dimensions, seed: 3)
  let amplitudes: [Double] = [0.5, 6, 2, 4, 1, 3, 0.25]  // deliberately not sorted
  let mean: [Double] = [10, -3, 0.5, 7, 0, 2, -8]
  var coordinates: [Double] = []
  for (k, a) in amplitudes.enumerated() {
    for sign in [1.0, -1.0] { coordinates += (0..<dimensions).map { mean[$0] + sign * a * basis[k][$0] } }
  }
  let data = Points(coordinates: coordinates, dimensions: dimensions)
  let n = Double(data.count)
  let pca = PrincipalComponents(fitting: data, componentCount: 4)

  let expectedOrder = [1, 3, 5, 2]  // amplitudes 6, 4, 3, 2
  #expect(pca.variances.count == 4 && pca.directions.count == 4)
  for (c, k) in expectedOrder.enumerated() {
    let expectedVariance = 2 * amplitudes[k] * amplitudes[k] / (n - 1)
    #expect(abs(pca.variances[c] - expectedVariance) < 1e-12 * expectedVariance)
    let direction = Array(pca.directions.point(c))
    let dot = zip(direction, basis[k]).map { $0 * $1 }.reduce(0, +)
    #expect(abs(abs(dot) - 1) < 1e-12)
    // The sign convention: the entry of largest magnitude is positive.
    let largest = direction.indices.max { abs(direction[$0]) < abs(direction[$1]) }!
    #expect(direction[largest] > 0)
  }
  for i in 0..<dimensions { #expect(abs(pca.mean[i] - mean[i]) < 1e-12) }

  // Projecting the point mean + a₁u₁ gives ±a₁ on the first component and 0 on the others.
  let projected = pca.project(data)
  #expect(projected.dimensions == 4 && projected.count == data.count)
  #expect(abs(abs(projected[2, 0]) - 6) < 1e-12)
  for c in 1..<4 { #expect(abs(projected[2, c]) < 1e-12) }

  // Fewer dimensions than asked for: every component, still sorted.
  let all = PrincipalComponents(fitting: data)
  #expect(all.variances.count == dimensions)
  #expect(zip(all.variances, all.variances.dropFirst()).allSatisfy { $0 >= $1 })
}

@Test func symmetricEigensystem_diagonalisesMatrices_withOrthonormalSortedVectors() {
  var random = RandomStream(rootSeed: 11, stream: "test-matrix")
  // A random matrix, one with a repeated eigenvalue (built from a basis), and the small orders.
  var cases: [(matrix: [Double], order: Int)] = []
  for order in [1, 2, 3, 17, 60] {
    var m = [Double](repeating: 0, count: order * order)
    for i in 0..<order {
      for j in 0...i {
        let value = random.normal()
        m[i * order + j] = value
        m[j * order + i] = value
      }
    }
    cases.append((m, order))
  }
  let basis = orthonormalRows(count: 9, dimensions: 9, seed: 5)
  let spectrum: [Double] = [4, 4, 4, 1, 0, 0, -2, -2, 7]
  var repeated = [Double](repeating: 0, count: 81)
  for i in 0..<9 {
    for j in 0..<9 {
      repeated[i * 9 + j] = (0..<9).map { spectrum[$0] * basis[$0][i] * basis[$0][j] }.reduce(0, +)
    }
  }
  cases.append((repeated, 9))

  for (matrix, n) in cases {
    let system = SymmetricEigensystem(symmetric: matrix, order: n)
    let scale = max(1, matrix.map(abs).max()!)
    #expect(zip(system.values, system.values.dropFirst()).allSatisfy { $0 >= $1 })
    for a in 0..<n {
      let va = Array(system.vectors[(a * n)..<((a + 1) * n)])
      // A·v = λv and the rows are orthonormal.
      for i in 0..<n {
        let av = (0..<n).map { matrix[i * n + $0] * va[$0] }.reduce(0, +)
        #expect(abs(av - system.values[a] * va[i]) < 1e-12 * Double(n) * scale)
      }
      for b in 0..<n {
        let dot = (0..<n).map { va[$0] * system.vectors[b * n + $0] }.reduce(0, +)
        #expect(abs(dot - (a == b ? 1 : 0)) < 1e-13 * Double(n))
      }
    }
  }
  let repeatedSystem = SymmetricEigensystem(symmetric: repeated, order: 9)
  for (value, expected) in zip(repeatedSystem.values, spectrum.sorted(by: >)) {
    #expect(abs(value - expected) < 1e-12)
  }
}
