extension ConvNet {
  /// This network with its classifier (the last layer, dense) widened by `newClasses` rows: the
  /// union head of task A's and task B's classes (meta-experiments.md §3.1b). The old rows and
  /// every other parameter are copied; the new rows' weights and biases are drawn
  /// U(−1/√fan-in, 1/√fan-in) from stream "headB" of `seed`, so the teacher, the student and
  /// every baseline of a run start from the same head.
  public func withUnionHead(parameters: [Float], newClasses: Int, seed: UInt64) throws -> (
    network: ConvNet, parameters: [Float]
  ) {
    guard case .dense(let old) = layers[layers.count - 1], newClasses >= 1 else {
      throw ConvNetError("a union head needs a dense classifier as the last layer and at least one new class")
    }
    precondition(parameters.count == parameterCount)
    let widened = try ConvNet(input: input, layers: layers.dropLast() + [.dense(outputs: old + newClasses)])
    let head = parameterRanges[layers.count - 1]!
    let newHead = widened.parameterRanges[layers.count - 1]!
    var out = Array(parameters[..<head.weights.lowerBound])
    out += parameters[head.weights]
    var random = RandomStream(rootSeed: seed, stream: "headB")
    let bound = 1 / Double(head.rowLength).squareRoot()
    let newWeights = (0..<(newClasses * head.rowLength)).map { _ in
      Float((2 * random.uniformDouble() - 1) * bound)
    }
    let newBiases = (0..<newClasses).map { _ in Float((2 * random.uniformDouble() - 1) * bound) }
    out += newWeights
    out += parameters[head.biases]
    out += newBiases
    precondition(out.count == widened.parameterCount && newHead.biases.upperBound == out.count)
    return (widened, out)
  }
}
