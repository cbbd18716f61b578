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
    out += [Float](repeating: 0, count: newClasses * head.rowLength)
    out += parameters[head.biases]
    out += [Float](repeating: 0, count: newClasses)
    precondition(out.count == widened.parameterCount && newHead.biases.upperBound == out.count)
    var random = RandomStream(rootSeed: seed, stream: "headB")
    widened.drawHeadRows(old..<(old + newClasses), of: &out, random: &random)
    return (widened, out)
  }

  /// Draws the classifier's rows `rows` afresh from `random`: their weights, row after row, then
  /// their biases, each U(−1/√fan-in, 1/√fan-in). The union head's task-B rows are drawn so, and
  /// Exp 2 redraws them for every episode's classes. The last layer must be dense.
  public func drawHeadRows(_ rows: Range<Int>, of parameters: inout [Float], random: inout RandomStream) {
    guard case .dense(let outputs) = layers[layers.count - 1], rows.clamped(to: 0..<outputs) == rows else {
      preconditionFailure("drawHeadRows needs rows of a dense classifier")
    }
    precondition(parameters.count == parameterCount)
    let head = parameterRanges[layers.count - 1]!
    let bound = 1 / Double(head.rowLength).squareRoot()
    for k
      in (head.weights.lowerBound + rows.lowerBound * head.rowLength)..<(head.weights.lowerBound
      + rows.upperBound * head.rowLength)
    {
      parameters[k] = Float((2 * random.uniformDouble() - 1) * bound)
    }
    for row in rows {
      parameters[head.biases.lowerBound + row] = Float((2 * random.uniformDouble() - 1) * bound)
    }
  }
}
