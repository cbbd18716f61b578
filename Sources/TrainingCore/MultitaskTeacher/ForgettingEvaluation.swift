/// The methods a pretrained network can learn task B by (meta-experiments.md §3.1e).
public enum ForgettingMethod: String, CaseIterable, Sendable {
  /// No update: the readouts probe w0's features.
  case freeze
  /// SGD with momentum on task B's cross-entropy ("the same learning rate as task A").
  case sgd
  /// The same at a tenth of the learning rate.
  case sgdTenth = "sgd-0.1"
  /// Learning without Forgetting: CE_B + λ·KD_T(the A rows' logits ‖ w0's A rows' logits on the
  /// same images), soft targets softmax(z/T); SGD's optimiser.
  case lwf
  /// Elastic weight consolidation: CE_B + (λ/2)·Σ F_i·(θ_i − w0_i)² with the exact diagonal
  /// Fisher of w0 on task A's images (not on the new head rows); SGD's optimiser.
  case ewc
  /// The meta-learners (no teacher) scale each steered layer's gradient: W ← W − α·δ⊙g; plain SGD
  /// at α elsewhere.
  case ours
  /// Multi-task SGD at α on task A and task B: the upper bound.
  case teacher
}

/// Settings of a meta-test; defaults are meta-experiments.md §3.2's smoke column (the paper: 500
/// steps, readouts every 50).
public struct ForgettingEvaluationSettings: Sendable, Equatable {
  /// Updates on task B's meta-test images (100).
  public var steps = 100
  /// Images per update (64; the teacher's batch is 64 of task A and 64 of task B).
  public var batch = 64
  /// Steps between readouts (25); step 0 is always read.
  public var evaluateEvery = 25
  /// SGD's learning rate and momentum for sgd, sgd-0.1, lwf and ewc (0.01, 0.5).
  public var sgdLearningRate: Float = 0.01
  public var sgdMomentum: Float = 0.5
  /// α of ours and the teacher (0.05).
  public var stepSize: Float = 0.05
  /// LwF's λ and temperature T (1, 2).
  public var lwfWeight = 1.0
  public var lwfTemperature = 2.0
  /// EWC's λ (1) and the task-A images its Fisher averages over (1,000).
  public var ewcWeight = 1.0
  public var fisherImages = 1000
  /// Training images each readout learns from (2,000), and how.
  public var readoutImages = 2000
  public var readout = LinearReadoutSettings()

  public init() {}
}

/// What a meta-test measured: at each readout step, the representation's linear readouts on task
/// A and task B and the network's own task-A head; at the end, the joint readout over both tasks'
/// classes (Table 1), and for `ours` the δ of the last step (Fig. 7).
public struct ForgettingCurves: Sendable, Equatable {
  public var steps: [Int] = []
  public var readoutA: [Double] = []
  public var readoutB: [Double] = []
  public var originalA: [Double] = []
  public var jointReadout = 0.0
  public var lastDeltas: [Float] = []
}

/// The meta-test of the multi-task-teacher paper (meta-experiments.md §3.1e): a method learns task
/// B from w0 (with the union head) on task B's meta-test images, and at every readout step the
/// frozen representation is probed by linear readouts (``LinearReadout``, deterministic).
/// Minibatches are drawn with replacement from streams "evalB" (and "evalA" for the teacher)
/// indexed by the step.
public enum ForgettingEvaluation {
  /// The tasks' images, union-labelled: task A's classes first, then task B's.
  public struct Tasks: Sendable {
    public var trainA: TeacherTaskImages
    public var testA: TeacherTaskImages
    public var trainB: TeacherTaskImages
    public var testB: TeacherTaskImages
    public var classesA: Int
    public var classesB: Int

    public init(
      trainA: TeacherTaskImages, testA: TeacherTaskImages, trainB: TeacherTaskImages,
      testB: TeacherTaskImages,
      classesA: Int, classesB: Int
    ) {
      (self.trainA, self.testA, self.trainB, self.testB) = (trainA, testA, trainB, testB)
      (self.classesA, self.classesB) = (classesA, classesB)
    }
  }

  /// Runs `method` from `initial` (union head included) and reads the representation as it goes.
  /// `meta` is the meta-learners' settings and θ, needed by `ours` only.
  public static func run(
    method: ForgettingMethod, network: ConvNet, initial: [Float], tasks: Tasks,
    meta: (settings: TeacherGuidedSettings, parameters: [[Float]])?, settings: ForgettingEvaluationSettings,
    seed: UInt64
  ) -> ForgettingCurves {
    var curves = ForgettingCurves()
    let representation = network.layers.count - 2
    let capacity = max(2 * settings.batch, 256)
    var probe = ConvNetClassifier(
      network: network, parameters: initial, seed: seed,
      optimizer: MomentumSGD(learningRate: 0, momentum: 0), batchCapacity: capacity)
    func read(_ parameters: [Float], step: Int) {
      probe.parameters = parameters
      let (a, b, original) = readouts(
        &probe, tasks: tasks, representation: representation, settings: settings)
      curves.steps.append(step)
      curves.readoutA.append(a)
      curves.readoutB.append(b)
      curves.originalA.append(original)
    }
    var parameters = initial
    read(parameters, step: 0)
    let learningRate = method == .sgdTenth ? settings.sgdLearningRate / 10 : settings.sgdLearningRate
    let optimizer = MomentumSGD(learningRate: learningRate, momentum: settings.sgdMomentum)
    var velocity = [Float](repeating: 0, count: network.parameterCount)
    var workspace = ConvNetWorkspace<Float>(network: network, batchCapacity: capacity)
    var anchorWorkspace = ConvNetWorkspace<Float>(network: network, batchCapacity: capacity)
    let fisher =
      method == .ewc
      ? diagonalFisher(network: network, parameters: initial, tasks: tasks, settings: settings) : []
    var guided: TeacherGuidedStep<Float>?
    var episode: TeacherGuidedStep<Float>.Episode?
    if method == .ours, let meta {
      var stepSettings = meta.settings
      stepSettings.stepSize = Double(settings.stepSize)
      let step = TeacherGuidedStep<Float>(network: network, settings: stepSettings, batchCapacity: capacity)
      guided = step
      episode = .init(parameters: initial, step: step)
    }
    for step in 1...settings.steps {
      let b = tasks.trainB.batch(count: settings.batch, seed: seed, stream: "evalB", indices: [UInt64(step)])
      switch method {
      case .freeze:
        break
      case .ours:
        guard guided != nil, episode != nil, let meta else { break }
        // In place (`guided!`, `episode!`): a copy of the step would share its workspace's buffers
        // and copy them on the first write of every step.
        guided!.studentStep(episode: &episode!, meta: meta.parameters, taskB: b)
        episode!.truncate()  // nothing is backpropagated at meta-test: keep no window
        parameters = episode!.student
        curves.lastDeltas = episode!.lastDeltas.flatMap { $0 }
      case .teacher:
        let a = tasks.trainA.batch(
          count: settings.batch, seed: seed, stream: "evalA", indices: [UInt64(step)])
        let g = crossEntropyGradient(
          network: network, parameters: parameters, images: a.images + b.images, labels: a.labels + b.labels,
          workspace: &workspace, anchorWorkspace: &anchorWorkspace)
        for k in parameters.indices { parameters[k] -= settings.stepSize * g[k] }
      case .sgd, .sgdTenth, .lwf, .ewc:
        var g = crossEntropyGradient(
          network: network, parameters: parameters, images: b.images, labels: b.labels, workspace: &workspace,
          distillation: method == .lwf
            ? (
              anchor: initial, weight: settings.lwfWeight, temperature: settings.lwfTemperature,
              classes: tasks.classesA
            ) : nil, anchorWorkspace: &anchorWorkspace)
        if method == .ewc {
          for k in g.indices { g[k] += Float(settings.ewcWeight) * fisher[k] * (parameters[k] - initial[k]) }
        }
        parameters.withUnsafeMutableBufferPointer { p in
          velocity.withUnsafeMutableBufferPointer { v in
            g.withUnsafeBufferPointer { optimizer.step(parameters: p, velocity: v, gradient: $0) }
          }
        }
      }
      if step % settings.evaluateEvery == 0 || step == settings.steps { read(parameters, step: step) }
    }
    probe.parameters = parameters
    curves.jointReadout = jointReadout(
      &probe, tasks: tasks, representation: representation, settings: settings)
    return curves
  }

  /// ∇ of the mean cross-entropy over the union head, plus, with `distillation`, LwF's
  /// λ·KD_T: soft cross-entropy of softmax(z_A/T) against softmax(z0_A/T) of the anchor network on
  /// the same images, over the first `classes` logits, mean over the batch.
  public static func crossEntropyGradient<T: NetworkScalar>(
    network: ConvNet, parameters: [T], images: [T], labels: [Int32], workspace: inout ConvNetWorkspace<T>,
    distillation: (anchor: [T], weight: Double, temperature: Double, classes: Int)? = nil,
    anchorWorkspace: inout ConvNetWorkspace<T>
  ) -> [T] {
    let last = network.layers.count - 1
    let count = labels.count
    network.forward(parameters: parameters, input: images, batch: count, workspace: &workspace)
    var anchorLogits: [T] = []
    if let distillation {
      network.forward(
        parameters: distillation.anchor, input: images, batch: count, workspace: &anchorWorkspace)
      anchorLogits = Array(anchorWorkspace.output(last, network: network))
    }
    let classes = network.output.count
    _ = labels.withUnsafeBufferPointer { labels in
      workspace.withOutputAndGradient(last, network: network) { logits, gradient in
        let loss = SoftmaxCrossEntropy.loss(
          logits: logits, labels: labels, classes: classes, gradient: gradient)
        if let distillation {
          let (t, a) = (distillation.temperature, distillation.classes)
          for n in 0..<count {
            let row = n * classes
            let student = softmax((0..<a).map { Double(logits[row + $0]) / t })
            let anchor = softmax((0..<a).map { Double(anchorLogits[row + $0]) / t })
            for k in 0..<a {
              gradient[row + k] += T(distillation.weight * (student[k] - anchor[k]) / (t * Double(count)))
            }
          }
        }
        return loss
      }
    }
    var gradient = [T](repeating: 0, count: network.parameterCount)
    network.backward(parameters: parameters, from: last, gradient: &gradient, workspace: &workspace)
    return gradient
  }

  /// The exact diagonal Fisher of `parameters` on the first `fisherImages` task-A training images:
  /// F_i = mean over images of Σ_c p_c·(∂ log p_c / ∂θ_i)², the expectation over the model's own
  /// class distribution (not the "empirical" or batched variants); zero on the head's task-B rows.
  static func diagonalFisher(
    network: ConvNet, parameters: [Float], tasks: Tasks, settings: ForgettingEvaluationSettings
  ) -> [Float] {
    let count = min(settings.fisherImages, tasks.trainA.count)
    return diagonalFisher(
      network: network, parameters: parameters,
      images: Array(tasks.trainA.images.prefix(count * tasks.trainA.pixelsPerImage)), count: count,
      oldClasses: tasks.classesA)
  }

  /// The exact diagonal Fisher of `parameters` on `count` images (count × pixels), zero on the
  /// head's rows from `oldClasses` on (the classes the network has not learnt yet).
  public static func diagonalFisher<T: NetworkScalar>(
    network: ConvNet, parameters: [T], images: [T], count: Int, oldClasses: Int
  ) -> [T] {
    let last = network.layers.count - 1
    let classes = network.output.count
    let pixels = network.input.count
    var workspace = ConvNetWorkspace<T>(network: network, batchCapacity: 1)
    var fisher = [Double](repeating: 0, count: network.parameterCount)
    var gradient = [T](repeating: 0, count: network.parameterCount)
    for n in 0..<count {
      let image = Array(images[(n * pixels)..<((n + 1) * pixels)])
      network.forward(parameters: parameters, input: image, batch: 1, workspace: &workspace)
      let p = softmax(workspace.output(last, network: network).map { Double($0) })
      for c in 0..<classes {
        workspace.withOutputGradient(last, network: network) { out in
          for k in 0..<classes { out[k] = T((k == c ? 1 : 0) - p[k]) }
        }
        network.backward(parameters: parameters, from: last, gradient: &gradient, workspace: &workspace)
        for i in fisher.indices { fisher[i] += p[c] * Double(gradient[i]) * Double(gradient[i]) }
      }
    }
    var out = fisher.map { T($0 / Double(count)) }
    let head = network.parameterRanges[last]!
    for row in oldClasses..<classes {
      for k
        in (head.weights.lowerBound + row * head.rowLength)..<(head.weights.lowerBound + (row + 1)
          * head.rowLength)
      {
        out[k] = 0
      }
      out[head.biases.lowerBound + row] = 0
    }
    return out
  }

  /// Readout-A, Readout-B and Original-A of the probe's parameters.
  static func readouts(
    _ probe: inout ConvNetClassifier, tasks: Tasks, representation: Int,
    settings: ForgettingEvaluationSettings
  ) -> (Double, Double, Double) {
    let readoutA = readoutAccuracy(
      &probe, train: tasks.trainA, test: tasks.testA, offset: 0, classes: tasks.classesA,
      representation: representation, settings: settings)
    let readoutB = readoutAccuracy(
      &probe, train: tasks.trainB, test: tasks.testB, offset: tasks.classesA, classes: tasks.classesB,
      representation: representation, settings: settings)
    let logits = tasks.testA.images.withUnsafeBufferPointer {
      probe.outputs(images: $0, count: tasks.testA.count)
    }
    let classes = probe.network.output.count
    var correct = 0
    for n in 0..<tasks.testA.count {
      var best = 0
      for k in 1..<tasks.classesA where logits[n * classes + k] > logits[n * classes + best] { best = k }
      if best == Int(tasks.testA.labels[n]) { correct += 1 }
    }
    return (readoutA, readoutB, Double(correct) / Double(tasks.testA.count))
  }

  /// A linear readout of the representation trained on the first `readoutImages` of `train` and
  /// tested on `test`; labels are shifted down by `offset` into 0 ..< `classes`.
  static func readoutAccuracy(
    _ probe: inout ConvNetClassifier, train: TeacherTaskImages, test: TeacherTaskImages, offset: Int,
    classes: Int,
    representation: Int, settings: ForgettingEvaluationSettings
  ) -> Double {
    let count = min(settings.readoutImages, train.count)
    let features = train.images.withUnsafeBufferPointer {
      probe.outputs(of: representation, images: $0, count: count)
    }
    let readout = LinearReadout.train(
      features: features, labels: train.labels.prefix(count).map { Int($0) - offset },
      dimensions: probe.network.shapes[representation].count, classes: classes, settings: settings.readout)
    let testFeatures = test.images.withUnsafeBufferPointer {
      probe.outputs(of: representation, images: $0, count: test.count)
    }
    return readout.accuracy(features: testFeatures, labels: test.labels.map { Int($0) - offset })
  }

  /// The joint readout over both tasks' classes: trained on task A's and task B's readout images
  /// together, tested on both test sets together.
  static func jointReadout(
    _ probe: inout ConvNetClassifier, tasks: Tasks, representation: Int,
    settings: ForgettingEvaluationSettings
  ) -> Double {
    let countA = min(settings.readoutImages, tasks.trainA.count)
    let countB = min(settings.readoutImages, tasks.trainB.count)
    func features(_ images: TeacherTaskImages, _ count: Int) -> [Float] {
      images.images.withUnsafeBufferPointer { probe.outputs(of: representation, images: $0, count: count) }
    }
    let trainFeatures = features(tasks.trainA, countA) + features(tasks.trainB, countB)
    let trainLabels = (tasks.trainA.labels.prefix(countA) + tasks.trainB.labels.prefix(countB)).map {
      Int($0)
    }
    let readout = LinearReadout.train(
      features: trainFeatures, labels: trainLabels, dimensions: probe.network.shapes[representation].count,
      classes: tasks.classesA + tasks.classesB, settings: settings.readout)
    let testFeatures = features(tasks.testA, tasks.testA.count) + features(tasks.testB, tasks.testB.count)
    return readout.accuracy(
      features: testFeatures, labels: (tasks.testA.labels + tasks.testB.labels).map { Int($0) })
  }

  static func softmax(_ z: [Double]) -> [Double] {
    let top = z.max() ?? 0
    let e = z.map { DeterministicMath.exp($0 - top) }
    let sum = e.reduce(0, +)
    return e.map { $0 / sum }
  }
}
