import Testing
import TrainingCore

/// Random Double parameters (the network's initialisation, biases and γ, β moved off their
/// defaults so no ReLU or GroupNorm sits at a special point), a batch and its labels.
private func tinyProblem(_ network: ConvNet, batch: Int, seed: UInt64) -> (
  p: [Double], x: [Double], labels: [Int32]
) {
  var random = RandomStream(rootSeed: seed, stream: "convnet-check")
  var p: [Double] = network.initialParameters(seed: seed)
  for range in network.parameterRanges.compactMap({ $0 }) {
    for k in range.weights.lowerBound..<range.biases.upperBound {
      p[k] += 0.3 * (2 * random.uniformDouble() - 1)
    }
  }
  let x = (0..<(batch * network.input.count)).map { _ in 2 * random.uniformDouble() - 1 }
  let labels = (0..<batch).map { _ in Int32(random.uniformInt(below: network.output.count)) }
  return (p, x, labels)
}

/// The mean cross-entropy of the batch at parameters `p`, and (if asked) its gradient.
private func crossEntropy(
  _ network: ConvNet, _ p: [Double], _ x: [Double], _ labels: [Int32], gradient: inout [Double]?
) -> Double {
  var workspace = ConvNetWorkspace<Double>(network: network, batchCapacity: labels.count)
  network.forward(parameters: p, input: x, batch: labels.count, workspace: &workspace)
  let last = network.layers.count - 1
  let loss = labels.withUnsafeBufferPointer { labels in
    workspace.withOutputAndGradient(last, network: network) { logits, out in
      SoftmaxCrossEntropy.loss(logits: logits, labels: labels, classes: network.output.count, gradient: out)
    }
  }
  if gradient != nil {
    var g = [Double](repeating: .nan, count: network.parameterCount)
    network.backward(parameters: p, from: last, gradient: &g, workspace: &workspace)
    gradient = g
  }
  return loss
}

/// Worst relative error of the analytic gradient against central differences (h = 1e-5;
/// |a − n| / max(|a| + |n|, 1e-4), the floor keeping round-off on near-zero entries out, as in the
/// LSTM's checks) over every `stride`-th weight and every bias, per layer.
///
/// With `kinks`, a parameter whose central differences at h and h/4 disagree (relative 1e-6) is
/// counted there and skipped: a ReLU's kink lies within h of some unit, so no difference quotient
/// is the derivative (deep networks with GroupNorm put many units near 0).
private func worstErrors(
  _ network: ConvNet, batch: Int = 3, seed: UInt64 = 5, every stride: Int = 1,
  kinks: UnsafeMutablePointer<(skipped: Int, checked: Int)>? = nil
) -> [(
  String, Double
)] {
  let (p, x, labels) = tinyProblem(network, batch: batch, seed: seed)
  var analytic: [Double]? = []
  _ = crossEntropy(network, p, x, labels, gradient: &analytic)
  var none: [Double]?
  var out: [(String, Double)] = []
  for (index, range) in network.parameterRanges.enumerated() {
    guard let range else { continue }
    var worst = 0.0
    let indices =
      Array(Swift.stride(from: range.weights.lowerBound, to: range.weights.upperBound, by: stride))
      + Array(range.biases)
    func difference(_ k: Int, _ h: Double) -> Double {
      var plus = p
      plus[k] += h
      var minus = p
      minus[k] -= h
      return
        (crossEntropy(network, plus, x, labels, gradient: &none)
        - crossEntropy(network, minus, x, labels, gradient: &none)) / (2 * h)
    }
    for k in indices {
      let numeric = difference(k, 1e-5)
      if let kinks {
        kinks.pointee.checked += 1
        let finer = difference(k, 2.5e-6)
        if abs(numeric - finer) / max(abs(numeric) + abs(finer), 1e-4) > 1e-6 {
          kinks.pointee.skipped += 1
          continue
        }
      }
      worst = max(worst, abs(numeric - analytic![k]) / max(abs(numeric) + abs(analytic![k]), 1e-4))
    }
    out.append(("layer \(index) \(network.layers[index])", worst))
  }
  return out
}

@Test func convolutionPoolingAndDenseGradients_matchCentralDifferences() throws {
  let network = try ConvNet(
    input: TensorShape(channels: 2, height: 7, width: 7),
    layers: [
      .convolution(channels: 3, kernel: 3), .relu, .maxPool, .convolution(channels: 4, kernel: 2), .relu,
      .dense(outputs: 5), .relu, .dense(outputs: 3),
    ])
  let errors = worstErrors(network)
  #expect(errors.count == 4)
  for (layer, error) in errors { #expect(error < 1e-6, "\(layer): relative error \(error)") }
}

@Test func stridedPaddedConvolutionGroupNormAndAveragePoolGradients_matchCentralDifferences() throws {
  let network = try ConvNet(
    input: TensorShape(channels: 2, height: 6, width: 6),
    layers: [
      .convolution(channels: 4, kernel: 3, stride: 2, padding: 1), .groupNorm(groups: 2), .relu,
      .convolution(channels: 4, kernel: 3, stride: 1, padding: 1), .groupNorm(groups: 4), .relu,
      .globalAveragePool,
      .dense(outputs: 3),
    ])
  #expect(network.shapes[0] == TensorShape(channels: 4, height: 3, width: 3))
  let errors = worstErrors(network, seed: 9)
  #expect(errors.count == 5)
  for (layer, error) in errors { #expect(error < 1e-6, "\(layer): relative error \(error)") }
}

@Test func smokeLeNetGradient_matchesCentralDifferences() throws {
  // Every 13th weight and every bias: 1,300 of the 15,898 parameters, each two forward passes.
  let network = try ConvNet.smokeLeNet(classes: 20)
  #expect(network.parameterCount == 6 * 26 + 12 * 151 + 64 * 193 + 20 * 65)
  for (layer, error) in worstErrors(network, batch: 2, every: 13) {
    #expect(error < 1e-6, "\(layer): relative error \(error)")
  }
}

@Test func backwardFromTheRepresentation_givesItsGradient_andZeroAbove() throws {
  // L = Σ c·r over the batch for the smoke LeNet's representation r (layer 7): the path a
  // meta-learner's feature loss takes. The head's parameters get no gradient.
  let network = try ConvNet.smokeLeNet(input: TensorShape(channels: 1, height: 16, width: 16), classes: 4)
  let (p, x, _) = tinyProblem(network, batch: 2, seed: 3)
  var random = RandomStream(rootSeed: 3, stream: "weights")
  let c = (0..<(2 * network.shapes[7].count)).map { _ in 2 * random.uniformDouble() - 1 }
  func loss(_ p: [Double]) -> Double {
    var workspace = ConvNetWorkspace<Double>(network: network, batchCapacity: 2)
    network.forward(parameters: p, input: x, batch: 2, through: 7, workspace: &workspace)
    return zip(workspace.output(7, network: network), c).reduce(0) { $0 + $1.0 * $1.1 }
  }
  var workspace = ConvNetWorkspace<Double>(network: network, batchCapacity: 2)
  network.forward(parameters: p, input: x, batch: 2, through: 7, workspace: &workspace)
  workspace.withOutputGradient(7, network: network) { out in
    for k in out.indices { out[k] = c[k] }
  }
  var gradient = [Double](repeating: .nan, count: network.parameterCount)
  network.backward(parameters: p, from: 7, gradient: &gradient, workspace: &workspace)
  let head = network.parameterRanges[8]!
  #expect(gradient[head.weights.lowerBound..<head.biases.upperBound].allSatisfy { $0 == 0 })
  var worst = 0.0
  for k in Swift.stride(from: 0, to: head.weights.lowerBound, by: 7) {
    var plus = p
    plus[k] += 1e-5
    var minus = p
    minus[k] -= 1e-5
    let numeric = (loss(plus) - loss(minus)) / 2e-5
    worst = max(worst, abs(numeric - gradient[k]) / max(abs(numeric) + abs(gradient[k]), 1e-4))
  }
  #expect(worst < 1e-6)
}

@Test func convolution_isTheDocumentedSum() throws {
  // y[n, o, i, j] = b[o] + Σ W[o, c, u, v]·x[n, c, s·i + u − p, s·j + v − p], zero outside, by loops.
  let input = TensorShape(channels: 2, height: 5, width: 6)
  let network = try ConvNet(
    input: input, layers: [.convolution(channels: 3, kernel: 3, stride: 2, padding: 1)])
  let (p, x, _) = tinyProblem(network, batch: 2, seed: 4)
  var workspace = ConvNetWorkspace<Double>(network: network, batchCapacity: 2)
  network.forward(parameters: p, input: x, batch: 2, workspace: &workspace)
  let y = Array(workspace.output(0, network: network))
  let out = network.shapes[0]
  #expect(out == TensorShape(channels: 3, height: 3, width: 3))
  var worst = 0.0
  for n in 0..<2 {
    for o in 0..<3 {
      for i in 0..<out.height {
        for j in 0..<out.width {
          var sum = p[54 + o]
          for c in 0..<2 {
            for u in 0..<3 {
              for v in 0..<3 {
                let (row, column) = (2 * i + u - 1, 2 * j + v - 1)
                guard (0..<input.height).contains(row), (0..<input.width).contains(column) else { continue }
                sum +=
                  p[((o * 2 + c) * 3 + u) * 3 + v]
                  * x[n * input.count + (c * input.height + row) * input.width + column]
              }
            }
          }
          worst = max(worst, abs(sum - y[n * out.count + (o * out.height + i) * out.width + j]))
        }
      }
    }
  }
  #expect(worst < 1e-12)
}

@Test func maxPool_takesTheFirstOfEqualValues_andRoutesTheGradientThere() throws {
  let network = try ConvNet(
    input: TensorShape(channels: 1, height: 2, width: 3), layers: [.maxPool, .dense(outputs: 1)])
  let p: [Double] = [2, 0]  // y = 2·pooled
  var workspace = ConvNetWorkspace<Double>(network: network, batchCapacity: 1)
  network.forward(parameters: p, input: [1, 4, 9, 4, 0, 9], batch: 1, workspace: &workspace)
  #expect(Array(workspace.output(0, network: network)) == [4])
  workspace.withOutputGradient(1, network: network) { $0[0] = 1 }
  var gradient = [Double](repeating: 0, count: 2)
  network.backward(parameters: p, from: 1, gradient: &gradient, workspace: &workspace)
  #expect(Array(workspace.outputGradient(0, network: network)) == [2])
  #expect(gradient == [4, 1])
}

@Test func floatPasses_repeatBitForBit_andAgreeWithDouble() throws {
  let network = try ConvNet.smokeLeNet(classes: 10)
  let (p, x, labels) = tinyProblem(network, batch: 4, seed: 8)
  let floats = p.map(Float.init)
  let inputs = x.map(Float.init)
  func run() -> (loss: Double, gradient: [Float]) {
    var workspace = ConvNetWorkspace<Float>(network: network, batchCapacity: 8)
    network.forward(parameters: floats, input: inputs, batch: 4, workspace: &workspace)
    let logits = Array(workspace.output(8, network: network))
    let loss = logits.withUnsafeBufferPointer { logits in
      labels.withUnsafeBufferPointer { labels in
        workspace.withOutputGradient(8, network: network) {
          SoftmaxCrossEntropy.loss(logits: logits, labels: labels, classes: 10, gradient: $0)
        }
      }
    }
    var gradient = [Float](repeating: 0, count: network.parameterCount)
    network.backward(parameters: floats, from: 8, gradient: &gradient, workspace: &workspace)
    return (loss, gradient)
  }
  let (first, second) = (run(), run())
  #expect(first.loss == second.loss && first.gradient == second.gradient)
  var exact: [Double]? = []
  let loss = crossEntropy(network, floats.map(Double.init), inputs.map(Double.init), labels, gradient: &exact)
  #expect(abs(first.loss - loss) < 1e-5)
  let worst = zip(first.gradient, exact!).map { abs(Double($0) - $1) }.max()!
  #expect(worst < 1e-5)
}

@Test func shapesThatCannotBeBuilt_areRefusedWithTheLayerNamed() {
  #expect(throws: ConvNetError.self) {
    try ConvNet(
      input: TensorShape(channels: 1, height: 4, width: 4), layers: [.convolution(channels: 2, kernel: 5)])
  }
  do {
    _ = try ConvNet(
      input: TensorShape(channels: 6, height: 4, width: 4), layers: [.relu, .groupNorm(groups: 4)])
    Issue.record("6 channels in 4 groups was accepted")
  } catch {
    #expect(error.description.contains("layer 1"))
    #expect(error.description.contains("6 channels"))
  }
}

@Test func initialParameters_followThePyTorchBounds_andTheSeed() throws {
  let network = try ConvNet.paperLeNet(classes: 10)
  #expect(network.parameterCount == 20 * 26 + 50 * 501 + 500 * 801 + 10 * 501)
  let a: [Float] = network.initialParameters(seed: 1)
  let b: [Float] = network.initialParameters(seed: 1)
  let c: [Float] = network.initialParameters(seed: 2)
  #expect(a == b && a != c)
  let fc1 = network.parameterRanges[6]!
  let bound = Float(1 / 800.0.squareRoot())
  #expect(a[fc1.weights].allSatisfy { abs($0) <= bound })
  #expect(a[fc1.weights].max()! > 0.9 * bound)
}

@Test func momentumSGD_isPyTorchsRule() {
  // v ← μ·v + g; θ ← θ − α·v, by hand for two steps.
  let rule = MomentumSGD(learningRate: 0.5, momentum: 0.5)
  var parameters: [Float] = [1, -2]
  var velocity: [Float] = [0, 0]
  for gradient: [Float] in [[2, 4], [2, 0]] {
    parameters.withUnsafeMutableBufferPointer { p in
      velocity.withUnsafeMutableBufferPointer { v in
        gradient.withUnsafeBufferPointer { rule.step(parameters: p, velocity: v, gradient: $0) }
      }
    }
  }
  #expect(velocity == [3, 2])
  #expect(parameters == [-1.5, -5])  // [1 − 0.5·2 − 0.5·3, −2 − 0.5·4 − 0.5·2]
}

@Test func openBLASCore_isRaisedOnlyWhenTheDetectedKernelIsOlderThanTheCPU() {
  let avx512: Set<String> = ["avx2", "fma", "avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl"]
  #expect(OpenBLASCore.preferredCore(detected: "Prescott", cpuFlags: avx512) == "SkylakeX")
  #expect(
    OpenBLASCore.preferredCore(detected: "Prescott", cpuFlags: ["avx2", "fma", "avx512f"]) == "Haswell")
  #expect(OpenBLASCore.preferredCore(detected: "Prescott", cpuFlags: ["sse3"]) == nil)
  #expect(OpenBLASCore.preferredCore(detected: "Haswell", cpuFlags: avx512) == nil)
  #expect(OpenBLASCore.preferredCore(detected: "SkylakeX", cpuFlags: avx512) == nil)
}

@Test func machineType_namesTheArchitecture_theFirstProcessorsModel_andTheOpenBLASKernel() {
  let amd = """
    processor\t: 0
    vendor_id\t: AuthenticAMD
    cpu family\t: 25
    model\t\t: 1
    model name\t: AMD EPYC 7B13
    flags\t\t: fpu avx2 fma

    processor\t: 1
    cpu family\t: 23
    model\t\t: 49
    model name\t: another CPU

    """
  #expect(
    MachineType.describe(cpuinfo: amd, architecture: "x86_64", openBLASCore: "Zen")
      == "x86_64, AMD EPYC 7B13 (family 25, model 1), OpenBLAS Zen")
  let arm = "processor\t: 0\nBogoMIPS\t: 50.00\nCPU implementer\t: 0x41\nCPU part\t: 0xd0c\n"
  #expect(
    MachineType.describe(cpuinfo: arm, architecture: "aarch64", openBLASCore: "NEOVERSEN1")
      == "aarch64, unknown CPU (implementer 0x41, part 0xd0c), OpenBLAS NEOVERSEN1")
  #expect(
    MachineType.describe(cpuinfo: "", architecture: "x86_64", openBLASCore: "Haswell")
      == "x86_64, unknown CPU, OpenBLAS Haswell")
}

@Test func cpuFlags_areReadFromTheFirstFlagsLine() {
  let text = "processor\t: 0\nflags\t\t: fpu avx2 fma avx512f\nbogomips\t: 1\nflags\t\t: sse3\n"
  #expect(OpenBLASCore.cpuFlags(cpuinfo: text)?.isSuperset(of: ["avx2", "fma", "avx512f"]) == true)
  #expect(OpenBLASCore.cpuFlags(cpuinfo: text)?.contains("sse3") == false)
  #expect(OpenBLASCore.cpuFlags(cpuinfo: "processor\t: 0\n") == nil)
}

@Test func residualBlocks_identityAndOptionAShortcuts_matchCentralDifferences() throws {
  // One block with an identity shortcut, one whose shortcut subsamples by 2 and pads 2 → 4
  // channels with zeros, and a block nested inside another.
  let network = try ConvNet(
    input: TensorShape(channels: 2, height: 6, width: 6),
    layers: [
      .residualStart, .convolution(channels: 2, kernel: 3, padding: 1), .groupNorm(groups: 1), .relu,
      .residualStart, .convolution(channels: 2, kernel: 3, padding: 1), .residualAdd, .residualAdd, .relu,
      .residualStart, .convolution(channels: 4, kernel: 3, stride: 2, padding: 1), .groupNorm(groups: 2),
      .residualAdd, .relu, .globalAveragePool, .dense(outputs: 3),
    ])
  #expect(
    network.residualPartners[6] == 4 && network.residualPartners[7] == 0 && network.residualPartners[12] == 9)
  #expect(network.shapes[12] == TensorShape(channels: 4, height: 3, width: 3))
  let errors = worstErrors(network, seed: 11)
  #expect(errors.count == 6)
  for (layer, error) in errors { #expect(error < 1e-6, "\(layer): relative error \(error)") }
}

@Test func residualAdd_isTheDocumentedOptionAShortcut() throws {
  // x: 1 channel 4 × 4 with values 0...15; the block's convolution (1 → 2 channels, 1×1, stride 2)
  // has zero weights and biases, so the output is the shortcut alone: channel 0 = x[2i, 2j], channel 1 = 0.
  let network = try ConvNet(
    input: TensorShape(channels: 1, height: 4, width: 4),
    layers: [.residualStart, .convolution(channels: 2, kernel: 1, stride: 2), .residualAdd])
  var workspace = ConvNetWorkspace<Double>(network: network, batchCapacity: 1)
  network.forward(
    parameters: [Double](repeating: 0, count: network.parameterCount), input: (0..<16).map(Double.init),
    batch: 1,
    workspace: &workspace)
  #expect(Array(workspace.output(2, network: network)) == [0, 2, 8, 10, 0, 0, 0, 0])
}

@Test func resNet8GN_buildsTheSmokeColumnsShape_roundTripsAsARecord_andItsGradientMatches() throws {
  let network = try ConvNet.resNet8GN(classes: 5)
  #expect(network.layers.filter { if case .convolution = $0 { true } else { false } }.count == 7)
  #expect(network.shapes[network.layers.count - 2] == TensorShape(channels: 32, height: 1, width: 1))
  let parameters: [Float] = network.initialParameters(seed: 2)
  let decoded = try ConvNet.decode(network.binaryEncoded(parameters: parameters))
  #expect(decoded.network == network && decoded.parameters == parameters)
  // Every 29th weight and every bias.
  var kinks = (skipped: 0, checked: 0)
  for (layer, error) in worstErrors(network, batch: 2, every: 29, kinks: &kinks) {
    #expect(error < 1e-6, "\(layer): relative error \(error)")
  }
  #expect(kinks.checked > 300 && kinks.skipped * 20 < kinks.checked, "\(kinks)")
  #expect(throws: ConvNetError.self) {
    try ConvNet(input: TensorShape(channels: 1, height: 4, width: 4), layers: [.residualStart, .relu])
  }
  #expect(throws: ConvNetError.self) {
    try ConvNet(input: TensorShape(channels: 1, height: 4, width: 4), layers: [.relu, .residualAdd])
  }
}

@Test func resNet32GN_isHeEtAlsResNet32_withGroupNormOfEightGroups() throws {
  let network = try ConvNet.resNet32GN(classes: 10)
  func count(_ match: (ConvNetLayer) -> Bool) -> Int { network.layers.filter(match).count }
  // 1 + 3 stages × 5 blocks × 2 convolutions, each followed by GroupNorm; 15 residual blocks.
  #expect(count { if case .convolution = $0 { true } else { false } } == 31)
  #expect(count { if case .groupNorm(groups: 8) = $0 { true } else { false } } == 31)
  #expect(count { if case .residualAdd = $0 { true } else { false } } == 15)
  // Two downsamplings: 32 × 32 → 8 × 8 in the last stage, then the 64-channel representation.
  #expect(network.shapes[network.layers.count - 4] == TensorShape(channels: 64, height: 8, width: 8))
  #expect(network.shapes[network.layers.count - 2] == TensorShape(channels: 64, height: 1, width: 1))
  // He et al. give ResNet-32 0.46 M parameters.
  #expect((455_000...475_000).contains(network.parameterCount), "\(network.parameterCount)")
  // The smoke ResNet-8 is the same construction with one block per stage: its layers, written out
  // as they were before the two shared it, so its runs keep their meaning.
  var smoke: [ConvNetLayer] = [
    .convolution(channels: 8, kernel: 3, padding: 1), .groupNorm(groups: 4), .relu,
  ]
  for (channels, stride) in [(8, 1), (16, 2), (32, 2)] {
    smoke += [
      .residualStart, .convolution(channels: channels, kernel: 3, stride: stride, padding: 1),
      .groupNorm(groups: 4), .relu, .convolution(channels: channels, kernel: 3, padding: 1),
      .groupNorm(groups: 4),
      .residualAdd, .relu,
    ]
  }
  smoke += [.globalAveragePool, .dense(outputs: 5)]
  #expect(try ConvNet.resNet8GN(classes: 5).layers == smoke)
}
