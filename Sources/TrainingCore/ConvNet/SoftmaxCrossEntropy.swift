/// The mean softmax cross-entropy of a batch of logits, and its gradient: for example n with
/// logits z and label y, −log p_y with p = softmax(z), so ∂/∂z_k = (p_k − [k = y]) / batch.
///
/// Each example's softmax is computed in `Double` (``DeterministicMath``), so the loss is the same
/// bits on every machine of a type whatever the batch's split.
public enum SoftmaxCrossEntropy {
  /// The mean loss over `labels.count` examples of `classes` logits each (example-major), and, if
  /// `gradient` is given, ∂(mean loss)/∂logits written into it. Logits that are not finite (a
  /// diverged network) make the loss NaN and the gradient zero, for the caller to report.
  public static func loss<T: NetworkScalar>(
    logits: UnsafeBufferPointer<T>, labels: UnsafeBufferPointer<Int32>, classes: Int,
    gradient: UnsafeMutableBufferPointer<T>? = nil
  ) -> Double {
    let batch = labels.count
    precondition(
      batch >= 1 && logits.count == batch * classes && (gradient?.count ?? logits.count) == logits.count)
    var total = 0.0
    var exponentials = [Double](repeating: 0, count: classes)
    for n in 0..<batch {
      let row = n * classes
      let label = Int(labels[n])
      precondition((0..<classes).contains(label), "label \(label) outside 0..<\(classes)")
      var largest = Double(logits[row])
      for k in 1..<classes { largest = max(largest, Double(logits[row + k])) }
      guard (0..<classes).allSatisfy({ logits[row + $0].isFinite }) else {
        if let gradient { gradient.update(repeating: 0) }
        return .nan
      }
      var sum = 0.0
      for k in 0..<classes {
        exponentials[k] = DeterministicMath.exp(Double(logits[row + k]) - largest)
        sum += exponentials[k]
      }
      total += largest + DeterministicMath.log(sum) - Double(logits[row + label])
      if let gradient {
        for k in 0..<classes {
          gradient[row + k] = T((exponentials[k] / sum - (k == label ? 1 : 0)) / Double(batch))
        }
      }
    }
    return total / Double(batch)
  }

  /// How many of the examples' largest logits (the first of equals) are at their label.
  public static func correct<T: NetworkScalar>(
    logits: UnsafeBufferPointer<T>, labels: UnsafeBufferPointer<Int32>, classes: Int
  )
    -> Int
  {
    var hits = 0
    for n in 0..<labels.count {
      var best = 0
      for k in 1..<classes where logits[n * classes + k] > logits[n * classes + best] { best = k }
      if best == Int(labels[n]) { hits += 1 }
    }
    return hits
  }
}
