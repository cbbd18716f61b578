/// Every eigenvalue and eigenvector of a real symmetric matrix, by Householder tridiagonalisation
/// and the implicit symmetric QR algorithm with Wilkinson shifts (Golub and Van Loan, *Matrix
/// Computations*, 4th ed., algorithms 8.3.1 and 8.3.3).
///
/// Guarantees, each checked by a test:
/// - `values` are in descending order, and `vectors` row i is a unit eigenvector of `values[i]`;
///   the rows are orthonormal to about n·ε, and V·A·Vᵀ is diagonal to about n·ε·‖A‖.
/// - Each vector's sign is fixed: its entry of largest magnitude (the first of equals) is positive.
/// - The result is a fixed function of the input bits: every sum runs in a fixed order, and no
///   library routine is called, so it does not depend on the host, the build or a thread count.
///
/// Cost for order n: about 2n³ flops to tridiagonalise, (4/3)n³ to form Q, and ~6n³ for the QR
/// sweeps, whose rotations act on contiguous rows of Qᵀ (the inner loops are element-wise, so
/// they vectorise without reordering any sum).
struct SymmetricEigensystem: Sendable, Equatable {
  /// The eigenvalues, largest first (ties keep the order the QR algorithm left them in).
  var values: [Double]
  /// The unit eigenvectors, row-major: row i belongs to `values[i]`.
  var vectors: [Double]
  /// The order n of the matrix.
  var order: Int

  /// The eigensystem of the symmetric n×n row-major `matrix` (only its lower triangle is read;
  /// the upper is taken to mirror it).
  init(symmetric matrix: [Double], order n: Int) {
    precondition(n >= 1 && matrix.count == n * n, "an n×n matrix needs n² entries")
    var a = matrix
    var diagonal = [Double](repeating: 0, count: n)
    var offDiagonal = [Double](repeating: 0, count: n)  // offDiagonal[i] = T[i+1][i]; last unused
    var basis = [Double](repeating: 0, count: n * n)  // rows: the columns of Q, then eigenvectors
    a.withUnsafeMutableBufferPointer { a in
      basis.withUnsafeMutableBufferPointer { q in
        Self.mirrorLowerTriangle(a, order: n)
        let scales = Self.tridiagonalise(a, order: n, diagonal: &diagonal, offDiagonal: &offDiagonal)
        Self.formTransposedQ(reflectors: a, scales: scales, order: n, into: q)
      }
    }
    basis.withUnsafeMutableBufferPointer { v in
      Self.diagonalise(diagonal: &diagonal, offDiagonal: &offDiagonal, rotating: v, order: n)
    }

    // Largest first; equal values keep their index order, so the permutation is fixed.
    let order = (0..<n).sorted { diagonal[$0] > diagonal[$1] || (diagonal[$0] == diagonal[$1] && $0 < $1) }
    var sortedVectors = [Double](repeating: 0, count: n * n)
    for (row, index) in order.enumerated() {
      var largest = 0
      for j in 0..<n where abs(basis[index * n + j]) > abs(basis[index * n + largest]) { largest = j }
      let sign: Double = basis[index * n + largest] < 0 ? -1 : 1
      for j in 0..<n { sortedVectors[row * n + j] = sign * basis[index * n + j] }
    }
    values = order.map { diagonal[$0] }
    vectors = sortedVectors
    self.order = n
  }

  /// Copies the lower triangle onto the upper, so the updates below may read whole rows.
  private static func mirrorLowerTriangle(_ a: UnsafeMutableBufferPointer<Double>, order n: Int) {
    for i in 0..<n {
      for j in 0..<i { a[j * n + i] = a[i * n + j] }
    }
  }

  /// Reduces `a` to tridiagonal form T = Hₙ₋₃⋯H₀·A·H₀⋯Hₙ₋₃ by Householder reflections
  /// Hₖ = I − τₖvₖvₖᵀ, writes T's diagonal and subdiagonal, and leaves vₖ in row k of `a`
  /// (entries k+1..<n). Returns the τₖ.
  ///
  /// Step k picks vₖ = x − αe₁ for the column x = A[k+1..<n, k], with α = −sign(x₀)‖x‖ (no
  /// cancellation in x₀ − α), so Hₖx = αe₁, and updates the trailing block B as
  /// B ← HBH = B − vwᵀ − wvᵀ with p = τBv and w = p − (τ/2)(pᵀv)v.
  private static func tridiagonalise(
    _ a: UnsafeMutableBufferPointer<Double>, order n: Int, diagonal: inout [Double],
    offDiagonal: inout [Double]
  ) -> [Double] {
    var scales = [Double](repeating: 0, count: n)
    var p = [Double](repeating: 0, count: n)
    p.withUnsafeMutableBufferPointer { p in
      for k in 0..<max(0, n - 2) {
        let first = k + 1
        var squaredNorm = 0.0
        for j in first..<n { squaredNorm += a[k * n + j] * a[k * n + j] }
        diagonal[k] = a[k * n + k]
        let norm = squaredNorm.squareRoot()
        if norm == 0 {
          // The column is already zero below the subdiagonal: Hₖ = I.
          offDiagonal[k] = 0
          continue
        }
        let x0 = a[k * n + first]
        let alpha = x0 < 0 ? norm : -norm
        a[k * n + first] = x0 - alpha  // row k now holds v (entries first..<n)
        let tau = 1 / (alpha * (alpha - x0))  // 2 / vᵀv, since vᵀv = 2α(α − x₀)
        scales[k] = tau
        offDiagonal[k] = alpha

        // p = τ·B·v, as a sum of B's rows (B is symmetric), each row an element-wise update.
        // Pointers from `first` on keep the inner loops free of overflow checks, so they vectorise.
        let v = a.baseAddress! + (k * n + first), w = p.baseAddress! + first
        let m = n - first
        for i in 0..<m { w[i] = 0 }
        for j in 0..<m {
          let vj = tau * v[j]
          let row = a.baseAddress! + ((first + j) * n + first)
          for i in 0..<m { w[i] += vj * row[i] }
        }
        var pv = 0.0
        for i in 0..<m { pv += w[i] * v[i] }
        let half = 0.5 * tau * pv
        for i in 0..<m { w[i] -= half * v[i] }  // p is now w
        for i in 0..<m {
          let vi = v[i], wi = w[i]
          let row = a.baseAddress! + ((first + i) * n + first)
          for j in 0..<m { row[j] -= vi * w[j] + wi * v[j] }
        }
      }
    }
    if n >= 2 {
      diagonal[n - 2] = a[(n - 2) * n + n - 2]
      offDiagonal[n - 2] = a[(n - 1) * n + n - 2]
    }
    diagonal[n - 1] = a[(n - 1) * n + n - 1]
    return scales
  }

  /// Writes Qᵀ = Hₙ₋₃⋯H₀ (Q = H₀⋯Hₙ₋₃, and each Hₖ is symmetric) row-major into `q`, applying
  /// the reflectors from the last to the first so each acts on a block that is still identity
  /// outside its own rows and columns.
  private static func formTransposedQ(
    reflectors a: UnsafeMutableBufferPointer<Double>, scales: [Double], order n: Int,
    into q: UnsafeMutableBufferPointer<Double>
  ) {
    for i in 0..<n { q[i * n + i] = 1 }
    var u = [Double](repeating: 0, count: n)
    u.withUnsafeMutableBufferPointer { u in
      for k in stride(from: n - 3, through: 0, by: -1) where scales[k] != 0 {
        // Q ← Hₖ·Q on rows and columns first..<n: Q −= τ·v·(vᵀQ).
        let first = k + 1, m = n - first
        let v = a.baseAddress! + (k * n + first), uFirst = u.baseAddress! + first
        for j in 0..<m { uFirst[j] = 0 }
        for i in 0..<m {
          let vi = v[i]
          let row = q.baseAddress! + ((first + i) * n + first)
          for j in 0..<m { uFirst[j] += vi * row[j] }
        }
        let tau = scales[k]
        for i in 0..<m {
          let factor = tau * v[i]
          let row = q.baseAddress! + ((first + i) * n + first)
          for j in 0..<m { row[j] -= factor * uFirst[j] }
        }
      }
    }
    // Transpose, so each column of Q becomes a contiguous row.
    for i in 0..<n {
      for j in (i + 1)..<n {
        let t = q[i * n + j]
        q[i * n + j] = q[j * n + i]
        q[j * n + i] = t
      }
    }
  }

  /// Diagonalises the tridiagonal (`diagonal`, `offDiagonal`) in place by implicit QR steps with
  /// the Wilkinson shift, rotating the rows of `v` (Qᵀ) along, so row i ends as the eigenvector
  /// of `diagonal[i]`.
  ///
  /// Each pass deflates: an off-diagonal entry with |e| ≤ ε(|dᵢ| + |dᵢ₊₁|) becomes 0. The bottom
  /// unreduced block lo...hi then takes one step: shift μ is the eigenvalue of its trailing 2×2
  /// nearer its last diagonal entry, the first rotation zeroes (d_lo − μ, e_lo)'s second entry,
  /// and the following ones chase the bulge down to hi (Golub and Van Loan, algorithm 8.3.2).
  private static func diagonalise(
    diagonal d: inout [Double], offDiagonal e: inout [Double], rotating v: UnsafeMutableBufferPointer<Double>,
    order n: Int
  ) {
    var hi = n - 1
    var steps = 0
    while hi > 0 {
      if abs(e[hi - 1]) <= Double.ulpOfOne * (abs(d[hi - 1]) + abs(d[hi])) {
        e[hi - 1] = 0
        hi -= 1
        continue
      }
      var lo = hi - 1
      while lo > 0 && abs(e[lo - 1]) > Double.ulpOfOne * (abs(d[lo - 1]) + abs(d[lo])) { lo -= 1 }
      steps += 1
      precondition(steps <= 30 * n, "the symmetric QR algorithm did not converge")

      let delta = (d[hi - 1] - d[hi]) / 2
      let b = e[hi - 1]
      let root = hypotenuse(delta, b)
      let shift = d[hi] - b * b / (delta + (delta < 0 ? -root : root))
      var x = d[lo] - shift
      var z = e[lo]
      for k in lo..<hi {
        let r = hypotenuse(x, z)
        let c = r == 0 ? 1 : x / r
        let s = r == 0 ? 0 : z / r
        // J = [[c, s], [−s, c]] on planes (k, k+1): T ← J·T·Jᵀ.
        if k > lo { e[k - 1] = r }
        let a = d[k], bk = e[k], cc = d[k + 1]
        d[k] = c * c * a + 2 * c * s * bk + s * s * cc
        d[k + 1] = s * s * a - 2 * c * s * bk + c * c * cc
        e[k] = c * s * (cc - a) + (c * c - s * s) * bk
        if k + 1 < hi {
          z = s * e[k + 1]  // the bulge at (k+2, k)
          e[k + 1] = c * e[k + 1]
          x = e[k]
        }
        // Q ← Q·Jᵀ, so rows k and k+1 of Qᵀ mix.
        let rowK = v.baseAddress! + k * n, rowNext = v.baseAddress! + (k + 1) * n
        for j in 0..<n {
          let vk = rowK[j], vNext = rowNext[j]
          rowK[j] = c * vk + s * vNext
          rowNext[j] = c * vNext - s * vk
        }
      }
    }
  }

  /// √(x² + y²) without overflow or underflow in the squares.
  private static func hypotenuse(_ x: Double, _ y: Double) -> Double {
    let ax = abs(x), ay = abs(y)
    let larger = max(ax, ay)
    if larger == 0 { return 0 }
    let u = ax / larger, w = ay / larger
    return larger * (u * u + w * w).squareRoot()
  }
}
