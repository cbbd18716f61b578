/// The first principal components of a set of points: the directions of largest variance
/// (Pearson 1901; Hotelling 1933), as the PCA step before t-SNE in van der Maaten's reference
/// implementation (`initial_dims` = 50).
///
/// Fitting centres each column, forms the D×D sample covariance C = XᵀX/(N − 1) and takes its
/// eigenvectors with ``SymmetricEigensystem`` (Householder tridiagonalisation and implicit QR),
/// an exact method whose cost, about N·D² + 10·D³ flops, does not depend on the spectrum: for
/// the crossprop paper's 2,500 × 1,024 hidden activations it takes 1.1–1.3 s in a release build
/// (`metasweep-bench tsne`). Power or subspace iteration would cost less per sweep, but needs a
/// number of sweeps set by gaps in the spectrum that nothing bounds here; and the N×N Gram matrix
/// XXᵀ only pays when N < D, while here N > D.
///
/// Guarantees:
/// - `directions` are orthonormal and ordered by decreasing `variances`; each direction's entry
///   of largest magnitude is positive, so no result depends on an arbitrary sign.
/// - A fixed function of the input bits: every sum runs in a fixed order (the covariance sums
///   points in index order), whatever the host or build.
public struct PrincipalComponents: Sendable, Equatable {
  /// The mean of each input dimension, subtracted before projecting.
  public let mean: [Double]
  /// The principal directions as unit vectors, one per point (K points of D coordinates),
  /// largest variance first.
  public let directions: Points
  /// The sample variance (divisor N − 1) of the data along each direction, in the same order:
  /// the covariance's top K eigenvalues.
  public let variances: [Double]

  /// Fits the first `componentCount` principal components of `data` (all D of them when the
  /// data has fewer dimensions). `data` needs at least one point.
  public init(fitting data: Points, componentCount: Int = 50) {
    precondition(componentCount >= 1, "PCA needs at least one component")
    precondition(data.count >= 1, "PCA needs at least one point")
    let n = data.count, d = data.dimensions
    let k = min(componentCount, d)

    var mean = [Double](repeating: 0, count: d)
    for i in 0..<n {
      for j in 0..<d { mean[j] += data.coordinates[i * d + j] }
    }
    for j in 0..<d { mean[j] /= Double(n) }
    var centred = data.coordinates
    for i in 0..<n {
      for j in 0..<d { centred[i * d + j] -= mean[j] }
    }

    let covariance = Self.lowerCovariance(centred, count: n, dimensions: d)
    let eigensystem = SymmetricEigensystem(symmetric: covariance, order: d)
    self.mean = mean
    directions = Points(coordinates: Array(eigensystem.vectors[0..<(k * d)]), dimensions: d)
    variances = Array(eigensystem.values[0..<k])
  }

  /// `data` centred by ``mean`` and projected on ``directions``: coordinate k of point i is
  /// (xᵢ − mean)·directionₖ, summed over input dimensions in order.
  public func project(_ data: Points) -> Points {
    let d = mean.count
    precondition(data.dimensions == d, "the data has \(data.dimensions) dimensions, the fit \(d)")
    let k = directions.count, n = data.count
    var projected = [Double](repeating: 0, count: n * k)
    var row = [Double](repeating: 0, count: d)
    for i in 0..<n {
      for j in 0..<d { row[j] = data.coordinates[i * d + j] - mean[j] }
      for c in 0..<k {
        var sum = 0.0
        for j in 0..<d { sum += row[j] * directions.coordinates[c * d + j] }
        projected[i * k + c] = sum
      }
    }
    return Points(coordinates: projected, dimensions: k)
  }

  /// The lower triangle (row a, columns 0...a) of XᵀX/(N − 1) for centred row-major X, the
  /// upper left zero. Each entry sums its N products in point order; points are taken in blocks
  /// of 32, so a row of the result stays in cache while a block's rows pass over it.
  static func lowerCovariance(_ x: [Double], count n: Int, dimensions d: Int) -> [Double] {
    var covariance = [Double](repeating: 0, count: d * d)
    let block = 32
    x.withUnsafeBufferPointer { x in
      covariance.withUnsafeMutableBufferPointer { c in
        for start in stride(from: 0, to: n, by: block) {
          let end = min(n, start + block)
          for a in 0..<d {
            // Pointers keep the inner loop free of overflow checks, so it vectorises.
            let row = c.baseAddress! + a * d
            for r in start..<end {
              let point = x.baseAddress! + r * d
              let xa = point[a]
              for b in 0...a { row[b] += xa * point[b] }
            }
          }
        }
        let divisor = Double(max(n - 1, 1))
        for a in 0..<d {
          for b in 0...a { c[a * d + b] /= divisor }
        }
      }
    }
    return covariance
  }
}
