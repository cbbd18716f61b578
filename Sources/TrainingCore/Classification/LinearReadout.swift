/// Settings of a linear readout; the defaults are meta-experiments.md §3's (Adam, learning rate 0.1,
/// β = (0.9, 0.999)), trained full-batch so that the same features always give the same readout.
public struct LinearReadoutSettings: Sendable, Equatable {
  /// Full-batch Adam steps (500).
  public var steps = 500
  /// Adam's step size (0.1).
  public var learningRate: Float = 0.1

  public init() {}
}

/// A linear softmax classifier on frozen features (a probe of a representation): logits
/// z_k = w_k·x + b_k, trained on the mean cross-entropy by full-batch Adam from zero weights, so it
/// is a pure function of its features, labels and settings, and two probes of the same network
/// always agree (meta-experiments.md §3 measured minibatch readouts moving by 1-3 points between
/// evaluations of one network).
///
/// Logits are summed in `Float` over eight-lane chunks in order, the softmax is in `Double`, and
/// the gradient accumulates example by example in a fixed order.
public struct LinearReadout: Sendable, Equatable {
  /// Feature dimensions.
  public let dimensions: Int
  /// Classes.
  public let classes: Int
  /// Row k holds w_k, then b_k: `classes` × (`dimensions` + 1).
  public private(set) var weights: [Float]

  /// The readout with all weights `weights` (zero: the untrained readout).
  public init(dimensions: Int, classes: Int, weights: [Float]? = nil) {
    precondition(dimensions >= 1 && classes >= 2)
    self.dimensions = dimensions
    self.classes = classes
    self.weights = weights ?? [Float](repeating: 0, count: classes * (dimensions + 1))
    precondition(self.weights.count == classes * (dimensions + 1))
  }

  /// The readout trained on `features` (examples × `dimensions`, example-major) with `labels`.
  public static func train(
    features: [Float], labels: [Int], dimensions: Int, classes: Int, settings: LinearReadoutSettings = .init()
  ) -> LinearReadout {
    precondition(features.count == labels.count * dimensions && !labels.isEmpty)
    precondition(labels.allSatisfy { (0..<classes).contains($0) })
    var readout = LinearReadout(dimensions: dimensions, classes: classes)
    let adam = Adam(learningRate: settings.learningRate)
    var mean = [Float](repeating: 0, count: readout.weights.count)
    var meanSquare = mean
    for step in 0..<settings.steps {
      let gradient = readout.lossAndGradient(features: features, labels: labels).gradient
      adam.update(
        step: step, parameters: &readout.weights, gradient: gradient, mean: &mean, meanSquare: &meanSquare)
    }
    return readout
  }

  /// The class of the largest logit of `feature` (the first of equal ones).
  public func predictedClass(_ feature: ArraySlice<Float>) -> Int {
    let logits = self.logits(feature)
    var best = 0
    for k in 1..<classes where logits[k] > logits[best] { best = k }
    return best
  }

  /// The fraction of `features` (examples × ``dimensions``) whose predicted class is their label.
  public func accuracy(features: [Float], labels: [Int]) -> Double {
    precondition(features.count == labels.count * dimensions && !labels.isEmpty)
    var correct = 0
    for (index, label) in labels.enumerated()
    where predictedClass(features[(index * dimensions)..<((index + 1) * dimensions)]) == label {
      correct += 1
    }
    return Double(correct) / Double(labels.count)
  }

  /// The mean cross-entropy of `labels` under the readout, and its gradient with respect to
  /// ``weights``.
  public func lossAndGradient(features: [Float], labels: [Int]) -> (loss: Double, gradient: [Float]) {
    let (row, dimensions, classes) = (self.dimensions + 1, self.dimensions, self.classes)
    var gradient = [Float](repeating: 0, count: weights.count)
    var loss = 0.0
    let scale = 1 / Float(labels.count)
    var probabilities = [Double](repeating: 0, count: classes)
    for (index, label) in labels.enumerated() {
      let feature = features[(index * dimensions)..<((index + 1) * dimensions)]
      let logits = self.logits(feature)
      let largest = logits.max()!
      var normaliser = 0.0
      for k in 0..<classes {
        probabilities[k] = DeterministicMath.exp(logits[k] - largest)
        normaliser += probabilities[k]
      }
      loss += DeterministicMath.log(normaliser) - (logits[label] - largest)
      gradient.withUnsafeMutableBufferPointer { g in
        feature.withUnsafeBufferPointer { x in
          for k in 0..<classes {
            // ∂ loss / ∂ z_k = p_k − [k = label], averaged over the examples.
            let error = Float(probabilities[k] / normaliser - (k == label ? 1 : 0)) * scale
            let base = k * row
            for j in 0..<dimensions { g[base + j] += error * x[j] }
            g[base + dimensions] += error
          }
        }
      }
    }
    return (loss / Double(labels.count), gradient)
  }

  /// z_k = Σ_j w_kj·x_j in `Float`, eight lanes at a time in chunk order then the lanes pairwise,
  /// plus b_k; returned in `Double`.
  func logits(_ feature: ArraySlice<Float>) -> [Double] {
    let (row, dimensions) = (self.dimensions + 1, self.dimensions)
    let chunks = dimensions / 8
    return weights.withUnsafeBufferPointer { w in
      feature.withUnsafeBufferPointer { x in
        (0..<classes).map { k in
          let base = k * row
          var sum = FloatLanes.zero
          for c in 0..<chunks {
            let wk = UnsafeRawPointer(w.baseAddress! + base + 8 * c).loadUnaligned(as: FloatLanes.self)
            let xc = UnsafeRawPointer(x.baseAddress! + 8 * c).loadUnaligned(as: FloatLanes.self)
            sum += wk * xc
          }
          var total = ((sum[0] + sum[1]) + (sum[2] + sum[3])) + ((sum[4] + sum[5]) + (sum[6] + sum[7]))
          for j in (8 * chunks)..<dimensions { total += w[base + j] * x[j] }
          return Double(total + w[base + dimensions])
        }
      }
    }
  }
}
