/// A t-SNE map and its joint affinities in the layout the exact gradient loop reads: points in
/// blocks of four lanes, so that one `SIMD4<Double>` holds one coordinate of four points.
///
/// `positions[k * blocks + b]` holds coordinate k of points 4b...4b+3 and
/// `affinities[i * blocks + b]` holds pᵢⱼ for j = 4b...4b+3; lanes past the last point are 0.
struct TSNEMap: Sendable {
  /// The number of points n.
  let count: Int
  /// The dimensions of the map.
  let dimensions: Int
  /// ⌈n/4⌉, the blocks of four lanes per coordinate or affinity row.
  let blocks: Int
  /// The coordinates, dimension-major (see the type's summary).
  var positions: [SIMD4<Double>]
  /// The joint affinities pᵢⱼ, row-major in blocks (see the type's summary).
  let affinities: [SIMD4<Double>]

  /// The map of row-major `points` under the n×n row-major joint `affinities`.
  init(points: Points, affinities p: [Double]) {
    count = points.count
    dimensions = points.dimensions
    blocks = (count + 3) / 4
    precondition(p.count == count * count, "affinities must be n×n")
    var positions = [SIMD4<Double>](repeating: SIMD4(), count: dimensions * blocks)
    for i in 0..<count {
      for k in 0..<dimensions { positions[k * blocks + i / 4][i % 4] = points[i, k] }
    }
    var affinities = [SIMD4<Double>](repeating: SIMD4(), count: count * blocks)
    for i in 0..<count {
      for j in 0..<count { affinities[i * blocks + j / 4][j % 4] = p[i * count + j] }
    }
    self.positions = positions
    self.affinities = affinities
  }

  /// The map's coordinates, row-major.
  var points: Points {
    var coordinates = [Double](repeating: 0, count: count * dimensions)
    for i in 0..<count {
      for k in 0..<dimensions { coordinates[i * dimensions + k] = positions[k * blocks + i / 4][i % 4] }
    }
    return Points(coordinates: coordinates, dimensions: dimensions)
  }

  /// Σⱼ pᵢⱼwᵢⱼ(yᵢ − yⱼ) and Σⱼ wᵢⱼ²(yᵢ − yⱼ) for every i, with wᵢⱼ = 1/(1 + ‖yᵢ − yⱼ‖²), written
  /// into `attraction` and `repulsion` (same layout as `positions`); returns Z = Σ_{i≠j} wᵢⱼ.
  ///
  /// The gradient of KL(P‖Q), with qᵢⱼ = wᵢⱼ/Z, is then
  /// ∂KL/∂yᵢ = 4·Σⱼ(pᵢⱼ − qᵢⱼ)wᵢⱼ(yᵢ − yⱼ) = 4·(attractionᵢ − repulsionᵢ/Z)
  /// (van der Maaten and Hinton 2008, eq. 5). Each pair i < j is visited once, by row i, in four
  /// lanes: row i's own sums stay in registers and are added (s₀ + s₁) + (s₂ + s₃) into slot i
  /// after the row; the pair's opposite terms are subtracted straight into the slots of j. So
  /// slot j receives rows 0, 1, ..., j − 1 and then its own row, always in that order: the result
  /// is a fixed function of the inputs, with one division per pair.
  func accumulateForces(
    attraction: inout [SIMD4<Double>], repulsion: inout [SIMD4<Double>]
  ) -> Double {
    positions.withUnsafeBufferPointer { y in
      affinities.withUnsafeBufferPointer { p in
        attraction.withUnsafeMutableBufferPointer { a in
          repulsion.withUnsafeMutableBufferPointer { r in
            for index in 0..<(dimensions * blocks) {
              a[index] = SIMD4()
              r[index] = SIMD4()
            }
            return dimensions == 2
              ? accumulatePlanarForces(y.baseAddress!, p.baseAddress!, a.baseAddress!, r.baseAddress!)
              : accumulateForces(y.baseAddress!, p.baseAddress!, a.baseAddress!, r.baseAddress!)
          }
        }
      }
    }
  }

  /// ``accumulateForces(attraction:repulsion:)`` for a map of any dimension.
  private func accumulateForces(
    _ y: UnsafePointer<SIMD4<Double>>, _ p: UnsafePointer<SIMD4<Double>>,
    _ a: UnsafeMutablePointer<SIMD4<Double>>, _ r: UnsafeMutablePointer<SIMD4<Double>>
  ) -> Double {
    let n = count, d = dimensions, blocks = blocks
    let lanes = SIMD4<Double>(0, 1, 2, 3)
    var total = 0.0
    withUnsafeTemporaryAllocation(of: SIMD4<Double>.self, capacity: 3 * d) { scratch in
      for i in 0..<n {
        let iBlock = i / 4, iLane = i % 4
        for k in 0..<d {
          scratch[k] = SIMD4(repeating: y[k * blocks + iBlock][iLane])  // yᵢ
          scratch[d + k] = SIMD4()  // row i's attraction
          scratch[2 * d + k] = SIMD4()  // row i's repulsion
        }
        var rowTotal = SIMD4<Double>()
        for b in iBlock..<blocks {
          var squaredDistance = SIMD4<Double>()
          for k in 0..<d {
            let difference = scratch[k] - y[k * blocks + b]
            squaredDistance += difference * difference
          }
          var w = 1 / (1 + squaredDistance)
          if b == iBlock || b == blocks - 1 {
            // Only pairs i < j < n count: the first block holds j ≤ i, the last the padding.
            let j = lanes + Double(4 * b)
            w.replace(with: 0, where: (j .<= Double(i)) .| (j .>= Double(n)))
          }
          rowTotal += w
          let pw = p[i * blocks + b] * w
          let ww = w * w
          for k in 0..<d {
            let difference = scratch[k] - y[k * blocks + b]
            let pull = pw * difference, push = ww * difference
            scratch[d + k] += pull
            scratch[2 * d + k] += push
            a[k * blocks + b] -= pull
            r[k * blocks + b] -= push
          }
        }
        for k in 0..<d {
          let pull = scratch[d + k], push = scratch[2 * d + k]
          a[k * blocks + iBlock][iLane] += (pull[0] + pull[1]) + (pull[2] + pull[3])
          r[k * blocks + iBlock][iLane] += (push[0] + push[1]) + (push[2] + push[3])
        }
        total += (rowTotal[0] + rowTotal[1]) + (rowTotal[2] + rowTotal[3])
      }
    }
    return 2 * total
  }

  /// ``accumulateForces(attraction:repulsion:)`` for a 2-D map: the same operations in the same
  /// order (so the same bits), with every running sum in a register.
  private func accumulatePlanarForces(
    _ y: UnsafePointer<SIMD4<Double>>, _ p: UnsafePointer<SIMD4<Double>>,
    _ a: UnsafeMutablePointer<SIMD4<Double>>, _ r: UnsafeMutablePointer<SIMD4<Double>>
  ) -> Double {
    let n = count, blocks = blocks
    let lanes = SIMD4<Double>(0, 1, 2, 3)
    let y0 = y, y1 = y + blocks, a0 = a, a1 = a + blocks, r0 = r, r1 = r + blocks
    var total = 0.0
    for i in 0..<n {
      let iBlock = i / 4, iLane = i % 4
      let x0 = SIMD4(repeating: y0[iBlock][iLane]), x1 = SIMD4(repeating: y1[iBlock][iLane])
      var pull0 = SIMD4<Double>(), pull1 = SIMD4<Double>(), push0 = SIMD4<Double>(), push1 = SIMD4<Double>()
      var rowTotal = SIMD4<Double>()
      let row = p + i * blocks
      for b in iBlock..<blocks {
        let difference0 = x0 - y0[b], difference1 = x1 - y1[b]
        var w = 1 / (1 + (difference0 * difference0 + difference1 * difference1))
        if b == iBlock || b == blocks - 1 {
          let j = lanes + Double(4 * b)
          w.replace(with: 0, where: (j .<= Double(i)) .| (j .>= Double(n)))
        }
        rowTotal += w
        let pw = row[b] * w
        let ww = w * w
        let pullAlong0 = pw * difference0, pushAlong0 = ww * difference0
        let pullAlong1 = pw * difference1, pushAlong1 = ww * difference1
        pull0 += pullAlong0
        push0 += pushAlong0
        pull1 += pullAlong1
        push1 += pushAlong1
        a0[b] -= pullAlong0
        r0[b] -= pushAlong0
        a1[b] -= pullAlong1
        r1[b] -= pushAlong1
      }
      a0[iBlock][iLane] += (pull0[0] + pull0[1]) + (pull0[2] + pull0[3])
      r0[iBlock][iLane] += (push0[0] + push0[1]) + (push0[2] + push0[3])
      a1[iBlock][iLane] += (pull1[0] + pull1[1]) + (pull1[2] + pull1[3])
      r1[iBlock][iLane] += (push1[0] + push1[1]) + (push1[2] + push1[3])
      total += (rowTotal[0] + rowTotal[1]) + (rowTotal[2] + rowTotal[3])
    }
    return 2 * total
  }

  /// KL(P‖Q) = Σ_{i≠j} pᵢⱼ log(pᵢⱼ/qᵢⱼ) over pairs with pᵢⱼ > 0, summed row by row in index
  /// order, with ``DeterministicMath/log(_:)``.
  func divergence() -> Double {
    let n = count, d = dimensions
    var w = [Double](repeating: 0, count: n * n)
    var total = 0.0
    for i in 0..<n {
      for j in 0..<n where j != i {
        var squaredDistance = 0.0
        for k in 0..<d {
          let difference = positions[k * blocks + i / 4][i % 4] - positions[k * blocks + j / 4][j % 4]
          squaredDistance += difference * difference
        }
        w[i * n + j] = 1 / (1 + squaredDistance)
        total += w[i * n + j]
      }
    }
    var divergence = 0.0
    for i in 0..<n {
      for j in 0..<n where j != i {
        let pij = affinities[i * blocks + j / 4][j % 4]
        if pij > 0 { divergence += pij * DeterministicMath.log(pij * total / w[i * n + j]) }
      }
    }
    return divergence
  }
}

extension TSNE {
  /// ∂KL(P‖Q)/∂yᵢ for every point of `positions` under the joint `affinities` (n×n, row-major),
  /// row-major like `positions`: 4·Σⱼ(pᵢⱼ − qᵢⱼ)(yᵢ − yⱼ)/(1 + ‖yᵢ − yⱼ‖²), the exact O(n²) form.
  static func gradient(positions: Points, affinities: [Double]) -> Points {
    let map = TSNEMap(points: positions, affinities: affinities)
    var attraction = [SIMD4<Double>](repeating: SIMD4(), count: map.positions.count)
    var repulsion = attraction
    let total = map.accumulateForces(attraction: &attraction, repulsion: &repulsion)
    var gradient = [Double](repeating: 0, count: positions.coordinates.count)
    for i in 0..<map.count {
      for k in 0..<map.dimensions {
        let slot = k * map.blocks + i / 4
        gradient[i * map.dimensions + k] = 4 * (attraction[slot][i % 4] - repulsion[slot][i % 4] / total)
      }
    }
    return Points(coordinates: gradient, dimensions: positions.dimensions)
  }

  /// KL(P‖Q) of the map `positions` under the joint `affinities` (n×n, row-major).
  static func divergence(positions: Points, affinities: [Double]) -> Double {
    TSNEMap(points: positions, affinities: affinities).divergence()
  }
}
