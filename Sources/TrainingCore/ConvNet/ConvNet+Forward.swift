extension ConvNet {
  /// Runs a batch through the layers `0...last` (every layer by default), leaving each layer's
  /// output in `workspace`.
  ///
  /// - Parameters:
  ///   - parameters: the flat parameter vector (``parameterCount`` values).
  ///   - input: `batch` examples, example-major, each in ``input``'s C × H × W order.
  public func forward<T: NetworkScalar>(
    parameters: UnsafeBufferPointer<T>, input: UnsafeBufferPointer<T>, batch: Int, through last: Int? = nil,
    workspace: inout ConvNetWorkspace<T>
  ) {
    let last = last ?? layers.count - 1
    precondition(parameters.count == parameterCount && (0..<layers.count).contains(last))
    precondition(batch >= 1 && batch <= workspace.batchCapacity && input.count == batch * self.input.count)
    workspace.batch = batch
    let offsets = workspace.offsets
    workspace.slab.withUnsafeMutableBufferPointer { slab in
      let slab = slab.baseAddress!
      (slab + offsets.input).update(from: input.baseAddress!, count: input.count)
      workspace.choices.withUnsafeMutableBufferPointer { choices in
        for index in 0...last {
          let x = UnsafePointer(index == 0 ? slab + offsets.input : slab + offsets.outputs[index - 1])
          let y = slab + offsets.outputs[index]
          let from = inputShape(of: index)
          let to = shapes[index]
          switch layers[index] {
          case .convolution(_, let kernel, let stride, let padding):
            let range = parameterRanges[index]!
            let columns = slab + offsets.columns[index]
            let columnCount = range.rowLength * to.positions
            for n in 0..<batch {
              let example = columns + n * columnCount
              Self.im2col(
                x + n * from.count, shape: from, kernel: kernel, stride: stride, padding: padding, output: to,
                columns: example)
              let out = y + n * to.count
              for o in 0..<to.channels {
                (out + o * to.positions).update(
                  repeating: parameters[range.biases.lowerBound + o], count: to.positions)
              }
              T.gemm(
                transposeA: false, transposeB: false, m: to.channels, n: to.positions, k: range.rowLength,
                alpha: 1,
                a: parameters.baseAddress! + range.weights.lowerBound, lda: range.rowLength, b: example,
                ldb: to.positions, beta: 1, c: out, ldc: to.positions)
            }
          case .dense(let outputs):
            let range = parameterRanges[index]!
            for n in 0..<batch {
              (y + n * outputs).update(
                from: parameters.baseAddress! + range.biases.lowerBound, count: outputs)
            }
            T.gemm(
              transposeA: false, transposeB: true, m: batch, n: outputs, k: range.rowLength, alpha: 1, a: x,
              lda: range.rowLength, b: parameters.baseAddress! + range.weights.lowerBound,
              ldb: range.rowLength,
              beta: 1, c: y, ldc: outputs)
          case .relu:
            for k in 0..<(batch * to.count) { y[k] = x[k] > 0 ? x[k] : 0 }
          case .maxPool:
            Self.maxPool(
              x, shape: from, output: to, batch: batch, y: y,
              choices: choices.baseAddress! + offsets.poolChoices[index])
          case .groupNorm(let groups):
            let range = parameterRanges[index]!
            Self.groupNorm(
              x, shape: from, groups: groups, batch: batch,
              gamma: parameters.baseAddress! + range.weights.lowerBound,
              beta: parameters.baseAddress! + range.biases.lowerBound, y: y,
              normalized: slab + offsets.normalized[index],
              inverseDeviations: slab + offsets.inverseDeviations[index])
          case .globalAveragePool:
            let scale = 1 / T(from.positions)
            for plane in 0..<(batch * from.channels) {
              var sum: T = 0
              for p in 0..<from.positions { sum += x[plane * from.positions + p] }
              y[plane] = sum * scale
            }
          case .residualStart:
            y.update(from: x, count: batch * to.count)
          case .residualAdd:
            let start = residualPartners[index]!
            let skip = shapes[start]
            let s = UnsafePointer(slab + offsets.outputs[start])
            let stride = skip.height / to.height
            y.update(from: x, count: batch * to.count)
            for n in 0..<batch {
              for c in 0..<skip.channels {
                for i in 0..<to.height {
                  for j in 0..<to.width {
                    y[n * to.count + (c * to.height + i) * to.width + j] +=
                      s[n * skip.count + (c * skip.height + stride * i) * skip.width + stride * j]
                  }
                }
              }
            }
          }
        }
      }
    }
  }

  /// `forward` on arrays.
  public func forward<T: NetworkScalar>(
    parameters: [T], input: [T], batch: Int, through last: Int? = nil, workspace: inout ConvNetWorkspace<T>
  ) {
    parameters.withUnsafeBufferPointer { parameters in
      input.withUnsafeBufferPointer { input in
        forward(parameters: parameters, input: input, batch: batch, through: last, workspace: &workspace)
      }
    }
  }

  /// One example's im2col matrix: row (c·k + u)·k + v, column i·W_out + j holds
  /// x[c, s·i + u − p, s·j + v − p], or 0 outside the image.
  static func im2col<T: NetworkScalar>(
    _ x: UnsafePointer<T>, shape: TensorShape, kernel: Int, stride: Int, padding: Int, output: TensorShape,
    columns: UnsafeMutablePointer<T>
  ) {
    var row = 0
    for c in 0..<shape.channels {
      let plane = x + c * shape.positions
      for u in 0..<kernel {
        for v in 0..<kernel {
          let out = columns + row * output.positions
          for i in 0..<output.height {
            let sourceRow = stride * i + u - padding
            let line = out + i * output.width
            guard sourceRow >= 0 && sourceRow < shape.height else {
              line.update(repeating: 0, count: output.width)
              continue
            }
            let source = plane + sourceRow * shape.width
            if stride == 1 && padding == 0 {
              // A loop, not memmove: rows are a few dozen values, shorter than a call's overhead.
              let start = source + v
              for j in 0..<output.width { line[j] = start[j] }
            } else {
              for j in 0..<output.width {
                let column = stride * j + v - padding
                line[j] = column >= 0 && column < shape.width ? source[column] : 0
              }
            }
          }
          row += 1
        }
      }
    }
  }

  static func maxPool<T: NetworkScalar>(
    _ x: UnsafePointer<T>, shape: TensorShape, output: TensorShape, batch: Int, y: UnsafeMutablePointer<T>,
    choices: UnsafeMutablePointer<Int32>
  ) {
    for n in 0..<batch {
      for c in 0..<shape.channels {
        let planeStart = n * shape.count + c * shape.positions
        let out = n * output.count + c * output.positions
        for i in 0..<output.height {
          for j in 0..<output.width {
            let first = planeStart + 2 * i * shape.width + 2 * j
            var best = first
            if x[first + 1] > x[best] { best = first + 1 }
            if x[first + shape.width] > x[best] { best = first + shape.width }
            if x[first + shape.width + 1] > x[best] { best = first + shape.width + 1 }
            y[out + i * output.width + j] = x[best]
            choices[out + i * output.width + j] = Int32(best - n * shape.count)
          }
        }
      }
    }
  }

  static func groupNorm<T: NetworkScalar>(
    _ x: UnsafePointer<T>, shape: TensorShape, groups: Int, batch: Int, gamma: UnsafePointer<T>,
    beta: UnsafePointer<T>, y: UnsafeMutablePointer<T>, normalized: UnsafeMutablePointer<T>,
    inverseDeviations: UnsafeMutablePointer<T>
  ) {
    let channelsPerGroup = shape.channels / groups
    let size = channelsPerGroup * shape.positions
    let count = T(size)
    for n in 0..<batch {
      for g in 0..<groups {
        let start = n * shape.count + g * size
        var sum: T = 0
        for k in start..<(start + size) { sum += x[k] }
        let mean = sum / count
        var squares: T = 0
        for k in start..<(start + size) { squares += (x[k] - mean) * (x[k] - mean) }
        let inverse = 1 / (squares / count + T(1e-5)).squareRoot()
        inverseDeviations[n * groups + g] = inverse
        for c in 0..<channelsPerGroup {
          let channel = g * channelsPerGroup + c
          let planeStart = start + c * shape.positions
          for k in planeStart..<(planeStart + shape.positions) {
            normalized[k] = (x[k] - mean) * inverse
            y[k] = gamma[channel] * normalized[k] + beta[channel]
          }
        }
      }
    }
  }
}
