extension ConvNet {
  /// Backpropagates ∂loss/∂(layer `layer`'s output), which the caller has written into the
  /// workspace, down to the input, after a forward pass through at least that layer.
  ///
  /// `gradient` (``parameterCount`` values) is overwritten with ∂loss/∂parameters: zero for the
  /// layers above `layer`. Sums over examples run in example order; no gradient with respect to the
  /// network's input is formed.
  public func backward<T: NetworkScalar>(
    parameters: UnsafeBufferPointer<T>, from layer: Int, gradient: UnsafeMutableBufferPointer<T>,
    workspace: inout ConvNetWorkspace<T>
  ) {
    precondition(parameters.count == parameterCount && gradient.count == parameterCount)
    precondition((0..<layers.count).contains(layer) && workspace.batch >= 1)
    gradient.update(repeating: 0)
    let batch = workspace.batch
    let offsets = workspace.offsets
    let w = parameters.baseAddress!
    let dw = gradient.baseAddress!
    workspace.slab.withUnsafeMutableBufferPointer { slab in
      let slab = slab.baseAddress!
      workspace.choices.withUnsafeBufferPointer { choices in
        for index in stride(from: layer, through: 0, by: -1) {
          let x = UnsafePointer(index == 0 ? slab + offsets.input : slab + offsets.outputs[index - 1])
          let y = UnsafePointer(slab + offsets.outputs[index])
          let dy = UnsafePointer(slab + offsets.outputGradients[index])
          let dx: UnsafeMutablePointer<T>? = index == 0 ? nil : slab + offsets.outputGradients[index - 1]
          let from = inputShape(of: index)
          let to = shapes[index]
          switch layers[index] {
          case .convolution(_, let kernel, let stride, let padding):
            let range = parameterRanges[index]!
            let columns = slab + offsets.columns[index]
            let columnCount = range.rowLength * to.positions
            let columnGradient = slab + offsets.columnGradient
            for n in 0..<batch {
              let example = columns + n * columnCount
              let upstream = dy + n * to.count
              T.gemm(
                transposeA: false, transposeB: true, m: to.channels, n: range.rowLength, k: to.positions,
                alpha: 1,
                a: upstream, lda: to.positions, b: example, ldb: to.positions, beta: n == 0 ? 0 : 1,
                c: dw + range.weights.lowerBound, ldc: range.rowLength)
              for o in 0..<to.channels {
                var sum: T = 0
                for p in 0..<to.positions { sum += upstream[o * to.positions + p] }
                dw[range.biases.lowerBound + o] += sum
              }
              guard let dx else { continue }
              T.gemm(
                transposeA: true, transposeB: false, m: range.rowLength, n: to.positions, k: to.channels,
                alpha: 1,
                a: w + range.weights.lowerBound, lda: range.rowLength, b: upstream, ldb: to.positions,
                beta: 0,
                c: columnGradient, ldc: to.positions)
              Self.col2im(
                columnGradient, shape: from, kernel: kernel, stride: stride, padding: padding, output: to,
                into: dx + n * from.count)
            }
          case .dense(let outputs):
            let range = parameterRanges[index]!
            T.gemm(
              transposeA: true, transposeB: false, m: outputs, n: range.rowLength, k: batch, alpha: 1, a: dy,
              lda: outputs, b: x, ldb: range.rowLength, beta: 0, c: dw + range.weights.lowerBound,
              ldc: range.rowLength)
            for n in 0..<batch {
              for o in 0..<outputs { dw[range.biases.lowerBound + o] += dy[n * outputs + o] }
            }
            if let dx {
              T.gemm(
                transposeA: false, transposeB: false, m: batch, n: range.rowLength, k: outputs, alpha: 1,
                a: dy,
                lda: outputs, b: w + range.weights.lowerBound, ldb: range.rowLength, beta: 0, c: dx,
                ldc: range.rowLength)
            }
          case .relu:
            guard let dx else { continue }
            for k in 0..<(batch * to.count) { dx[k] = y[k] > 0 ? dy[k] : 0 }
          case .maxPool:
            guard let dx else { continue }
            dx.update(repeating: 0, count: batch * from.count)
            let chosen = choices.baseAddress! + offsets.poolChoices[index]
            for n in 0..<batch {
              for k in 0..<to.count {
                dx[n * from.count + Int(chosen[n * to.count + k])] += dy[n * to.count + k]
              }
            }
          case .groupNorm(let groups):
            let range = parameterRanges[index]!
            Self.groupNormBackward(
              dy, shape: from, groups: groups, batch: batch, gamma: w + range.weights.lowerBound,
              normalized: slab + offsets.normalized[index],
              inverseDeviations: slab + offsets.inverseDeviations[index],
              dGamma: dw + range.weights.lowerBound, dBeta: dw + range.biases.lowerBound, dx: dx)
          case .globalAveragePool:
            guard let dx else { continue }
            let scale = 1 / T(from.positions)
            for plane in 0..<(batch * from.channels) {
              (dx + plane * from.positions).update(repeating: dy[plane] * scale, count: from.positions)
            }
          case .residualAdd:
            // The shortcut's adjoint goes to the block's start; the main path's to the layer below.
            let start = residualPartners[index]!
            let skip = shapes[start]
            let ds = slab + offsets.skipGradients[start]
            let stride = skip.height / to.height
            ds.update(repeating: 0, count: batch * skip.count)
            for n in 0..<batch {
              for c in 0..<skip.channels {
                for i in 0..<to.height {
                  for j in 0..<to.width {
                    ds[n * skip.count + (c * skip.height + stride * i) * skip.width + stride * j] =
                      dy[n * to.count + (c * to.height + i) * to.width + j]
                  }
                }
              }
            }
            dx?.update(from: dy, count: batch * to.count)
          case .residualStart:
            guard let dx else { continue }
            // A block whose add lies above the layer the pass starts from has no shortcut gradient.
            let closed = residualPartners[index]! <= layer
            let ds = UnsafePointer(slab + offsets.skipGradients[index])
            for k in 0..<(batch * to.count) { dx[k] = closed ? dy[k] + ds[k] : dy[k] }
          }
        }
      }
    }
  }

  /// `backward` on arrays.
  public func backward<T: NetworkScalar>(
    parameters: [T], from layer: Int, gradient: inout [T], workspace: inout ConvNetWorkspace<T>
  ) {
    parameters.withUnsafeBufferPointer { parameters in
      gradient.withUnsafeMutableBufferPointer { gradient in
        backward(parameters: parameters, from: layer, gradient: gradient, workspace: &workspace)
      }
    }
  }

  /// The adjoint of ``im2col(_:shape:kernel:stride:padding:output:columns:)``: sets one example's
  /// input gradient to the sum of its column gradients, in row order.
  static func col2im<T: NetworkScalar>(
    _ columns: UnsafePointer<T>, shape: TensorShape, kernel: Int, stride: Int, padding: Int,
    output: TensorShape,
    into dx: UnsafeMutablePointer<T>
  ) {
    dx.update(repeating: 0, count: shape.count)
    var row = 0
    for c in 0..<shape.channels {
      let plane = dx + c * shape.positions
      for u in 0..<kernel {
        for v in 0..<kernel {
          let source = columns + row * output.positions
          for i in 0..<output.height {
            let targetRow = stride * i + u - padding
            guard targetRow >= 0 && targetRow < shape.height else { continue }
            let target = plane + targetRow * shape.width
            let line = source + i * output.width
            if stride == 1 && padding == 0 {
              let start = target + v
              for j in 0..<output.width { start[j] += line[j] }
              continue
            }
            for j in 0..<output.width {
              let column = stride * j + v - padding
              if column >= 0 && column < shape.width { target[column] += line[j] }
            }
          }
          row += 1
        }
      }
    }
  }

  /// GroupNorm's backward pass: with x̂ and 1/σ from the forward pass and d = γ_c·∂y per value,
  /// ∂x = (1/σ)·(d − mean(d) − x̂·mean(d·x̂)) over each example's group.
  static func groupNormBackward<T: NetworkScalar>(
    _ dy: UnsafePointer<T>, shape: TensorShape, groups: Int, batch: Int, gamma: UnsafePointer<T>,
    normalized: UnsafePointer<T>, inverseDeviations: UnsafePointer<T>, dGamma: UnsafeMutablePointer<T>,
    dBeta: UnsafeMutablePointer<T>, dx: UnsafeMutablePointer<T>?
  ) {
    let channelsPerGroup = shape.channels / groups
    let size = channelsPerGroup * shape.positions
    let count = T(size)
    for n in 0..<batch {
      for g in 0..<groups {
        let start = n * shape.count + g * size
        var sum: T = 0
        var projection: T = 0
        for c in 0..<channelsPerGroup {
          let channel = g * channelsPerGroup + c
          let planeStart = start + c * shape.positions
          var gammaSum: T = 0
          var betaSum: T = 0
          for k in planeStart..<(planeStart + shape.positions) {
            gammaSum += dy[k] * normalized[k]
            betaSum += dy[k]
            let d = gamma[channel] * dy[k]
            sum += d
            projection += d * normalized[k]
          }
          dGamma[channel] += gammaSum
          dBeta[channel] += betaSum
        }
        guard let dx else { continue }
        let meanD = sum / count
        let meanProjection = projection / count
        let inverse = inverseDeviations[n * groups + g]
        for c in 0..<channelsPerGroup {
          let channel = g * channelsPerGroup + c
          let planeStart = start + c * shape.positions
          for k in planeStart..<(planeStart + shape.positions) {
            dx[k] = inverse * (gamma[channel] * dy[k] - meanD - normalized[k] * meanProjection)
          }
        }
      }
    }
  }
}
