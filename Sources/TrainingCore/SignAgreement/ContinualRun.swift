/// How the main network's update is formed on tasks after the first (meta-experiments.md §1.1).
public enum ContinualMethod: String, CaseIterable, Sendable, Equatable {
  /// Plain SGD on the current task's gradient.
  case sgd
  /// The sign-agreement update against the mean of every old task's predictor, s_k · h(θ; φ_k).
  case metaSign = "meta-sign"
  /// The same against one distilled predictor s_g · g(θ; μ) (the paper's §5.2).
  case metaSignDistill = "meta-sign-distill"
  /// The same against the true mean gradient of the old tasks on a stored minibatch of each: the
  /// upper bound that says whether the predictor or the rule limits the method.
  case oracleSign = "oracle-sign"
  /// SGD on the loss plus EWC's penalty (λ/2) Σ_k Σ_j F_kj (θ_j − θ*_kj)², an exact diagonal Fisher
  /// per finished task.
  case ewc

  /// Whether the method trains a gradient predictor per task.
  public var predicts: Bool { self == .metaSign || self == .metaSignDistill }
}

/// Settings of one continual-learning run on permuted tasks; the defaults are the smoke column of
/// meta-experiments.md §1.2.
public struct ContinualSettings: Sendable, Equatable {
  public var method = ContinualMethod.metaSign
  /// Iterations per task (400), images per minibatch (32), SGD's α (0.01).
  public var iterations = 400
  public var batch = 32
  public var learningRate: Float = 0.01
  /// The main network's hidden layers (64, 64).
  public var hidden = [64, 64]
  /// The predictor's hidden layers (32, 32), Adam's step size for it (1e-3), and the coordinates
  /// each regression step uses (0: all of them; m > 0: m drawn with replacement from stream
  /// "coords" indexed by (task, iteration)).
  public var predictorHidden = [32, 32]
  public var predictorLearningRate: Float = 1e-3
  public var predictorCoordinates = 0
  /// Coordinates per predictor chunk, and threads over chunks. Results do not depend on the
  /// threads; they do on the chunk, in the last bits (sums over chunks group differently).
  public var chunk = 16_384
  public var threads = 1
  /// Iterations between evaluations of every task (50), on the first `testImages` test images.
  public var evaluateEvery = 50
  public var testImages = 500
  /// meta-sign-distill: Adam steps per distillation (200) and grid points spanning θ's range (8,192).
  public var distillSteps = 200
  public var distillGrid = 8192
  /// ewc: λ and the training images each Fisher averages over.
  public var ewcWeight = 100.0
  public var fisherImages = 200
  /// oracle-sign and the sign-agreement diagnostic: each old task's stored minibatch.
  public var oracleImages = 64

  public init() {}
}

/// Where a continual-learning run is, at an iteration boundary (any one: nothing is half done
/// between iterations), and what it has measured: the chained run's checkpoint.
public struct ContinualState: Sendable, Equatable {
  /// The main network's parameters.
  public var theta: [Float]
  /// The current task (0-based) and the iterations done in it.
  public var task = 0
  public var iteration = 0
  /// Every finished task's frozen predictor and its target scale s_k (meta-sign).
  public var frozen: [[Float]] = []
  public var frozenScales: [Float] = []
  /// The current task's predictor, its Adam moments and steps, and s_i (0 before its first step).
  public var predictor: [Float] = []
  public var adamMean: [Float] = []
  public var adamMeanSquare: [Float] = []
  public var adamSteps = 0
  public var scale: Float = 0
  /// meta-sign-distill: g's weights μ and scale s_g, and the tasks folded into it.
  public var distilled: [Float] = []
  public var distilledScale: Float = 0
  public var distilledTasks = 0
  /// ewc: per finished task, the diagonal Fisher and the parameters at the task's end.
  public var fishers: [[Float]] = []
  public var anchors: [[Float]] = []
  /// Per evaluation point (iteration 0, then every `evaluateEvery`): every task's test accuracy.
  public var accuracy: [[Double]] = []
  /// Per evaluation point after the first: the mean fraction of coordinates the rule zeroed, the
  /// mean predictor regression loss, over the iterations since the last point, and the
  /// sign-agreement rate between p̄ and the old tasks' true gradients at the point (NaN where there
  /// is none).
  public var zeroedFraction: [Double] = []
  /// Per evaluation point after the first: among the coordinates updated since the last point, the
  /// mean fraction whose update moved θ_j away from 0 (θ_j·δ_j < 0). Near ½ under SGD; a rule that
  /// keeps only growing coordinates drives it to 1 and θ's norm up.
  public var growingFraction: [Double] = []
  public var predictorLoss: [Double] = []
  public var signAgreement: [Double] = []
  /// Per evaluation point: the root mean square of θ (the sign rule with an uninformed predictor
  /// pulls weights toward where h changes sign; this shows it).
  public var thetaRMS: [Double] = []
  /// The global iteration whose minibatch loss was first not finite, if the network diverged. The
  /// run then goes on without training, so that its curves show what the diverged network
  /// predicts (its logits are NaN: every image is called class 0).
  public var divergedAt: Int?
  /// Running sums over the iterations since the last evaluation point.
  public var zeroedSum = 0.0
  public var growingSum = 0.0
  public var lossSum = 0.0
  public var lossCount = 0

  public init(theta: [Float]) { self.theta = theta }
}

/// Continual learning with gradient-reconstruction meta-networks (meta-experiments.md §1.1): a main
/// network learns permuted tasks in sequence with known boundaries, training one coordinate-wise
/// predictor per task to reconstruct that task's gradient from θ alone, and on later tasks applies
/// only the coordinates of the gradient whose sign agrees with the old tasks' predicted mean.
///
/// Minibatches come from stream "data" indexed by (task, iteration), so a run is a pure function of
/// its seed and data, in any segments.
public struct ContinualRun: Sendable {
  public let settings: ContinualSettings
  public let tasks: PermutedTasks
  public let network: ConvNet
  public let seed: UInt64
  public private(set) var predictorNet: CoordinatePredictor<Float>
  private var workspace: ConvNetWorkspace<Float>

  public init(settings: ContinualSettings, tasks: PermutedTasks, seed: UInt64) throws(ConvNetError) {
    self.settings = settings
    self.tasks = tasks
    self.seed = seed
    var layers: [ConvNetLayer] = []
    for units in settings.hidden { layers += [.dense(outputs: units), .relu] }
    network = try ConvNet(
      input: TensorShape(channels: 1, height: 1, width: tasks.pixels),
      layers: layers + [.dense(outputs: tasks.classes)])
    predictorNet = try CoordinatePredictor<Float>(
      hidden: settings.predictorHidden, chunk: settings.chunk, threads: settings.threads)
    workspace = ConvNetWorkspace(
      network: network, batchCapacity: max(settings.batch, settings.oracleImages, Self.evaluationBatch))
  }

  static let evaluationBatch = 250

  /// Iterations of the whole run.
  public var totalIterations: Int { tasks.tasks * settings.iterations }

  /// The main network's initial parameters (PD, §1.1): Glorot-uniform weights
  /// U(±√(6 / (fan-in + fan-out))) and zero biases, layer l from stream "init" indexed by l.
  public func initialParameters() -> [Float] {
    var theta = [Float](repeating: 0, count: network.parameterCount)
    for index in network.layers.indices {
      guard let range = network.parameterRanges[index], case .dense(let outputs) = network.layers[index]
      else {
        continue
      }
      let bound = (6 / Double(range.rowLength + outputs)).squareRoot()
      var random = RandomStream(rootSeed: seed, stream: "init", indices: [UInt64(index)])
      for k in range.weights { theta[k] = Float((2 * random.uniformDouble() - 1) * bound) }
    }
    return theta
  }

  /// The state a run starts from: the initial network, and the first predictor when the method
  /// has one.
  public func initialState() -> ContinualState {
    var state = ContinualState(theta: initialParameters())
    startPredictor(&state)
    return state
  }

  public func isFinished(_ state: ContinualState) -> Bool { state.task >= tasks.tasks }

  /// Runs from `state` until the run is finished, `maxIterations` iterations are done (0: no
  /// limit), or a task ends (so every task boundary is a checkpoint).
  public mutating func train(_ state: inout ContinualState, maxIterations: Int = 0) {
    if state.accuracy.isEmpty {
      state.accuracy.append(evaluate(state.theta))
      state.thetaRMS.append(Self.rms(state.theta))
    }
    var done = 0
    let count = network.parameterCount
    var gradient = [Float](repeating: 0, count: count)
    var delta = [Float](repeating: 0, count: count)
    var prediction = [Float](repeating: 0, count: count)
    while !isFinished(state) && (maxIterations == 0 || done < maxIterations) {
      let task = state.task
      if state.divergedAt == nil { step(&state, gradient: &gradient, delta: &delta, prediction: &prediction) }
      state.iteration += 1
      done += 1
      let global = task * settings.iterations + state.iteration
      if global % settings.evaluateEvery == 0 {
        state.accuracy.append(evaluate(state.theta))
        state.thetaRMS.append(Self.rms(state.theta))
        // After a divergence nothing is updated: the rates are NaN, not 0.
        let interval = state.divergedAt == nil ? Double(settings.evaluateEvery) : .nan
        state.zeroedFraction.append(state.zeroedSum / interval)
        state.growingFraction.append(state.growingSum / interval)
        state.predictorLoss.append(state.lossCount > 0 ? state.lossSum / Double(state.lossCount) : .nan)
        state.signAgreement.append(state.divergedAt == nil ? agreement(state) : .nan)
        state.zeroedSum = 0
        state.growingSum = 0
        state.lossSum = 0
        state.lossCount = 0
      }
      if state.iteration == settings.iterations {
        finishTask(&state)
        break
      }
    }
  }

  /// One iteration's update of θ (and of the current predictor), or, if the minibatch loss is not
  /// finite, the record that the network diverged.
  mutating func step(
    _ state: inout ContinualState, gradient: inout [Float], delta: inout [Float], prediction: inout [Float]
  ) {
    let count = gradient.count
    let task = state.task
    let batch = tasks.drawnBatch(
      task: task, count: settings.batch, seed: seed, stream: "data",
      indices: [UInt64(task), UInt64(state.iteration)])
    let loss = lossGradient(state.theta, images: batch.images, labels: batch.labels, into: &gradient)
    guard loss.isFinite else {
      state.divergedAt = task * settings.iterations + state.iteration
      return
    }
    if settings.method == .ewc {
      for (fisher, anchor) in zip(state.fishers, state.anchors) {
        let weight = Float(settings.ewcWeight)
        for j in 0..<count { gradient[j] += weight * fisher[j] * (state.theta[j] - anchor[j]) }
      }
    }
    var zeroed = 0
    if task > 0,
      settings.method == .metaSign || settings.method == .metaSignDistill || settings.method == .oracleSign
    {
      oldTaskDirection(state, into: &prediction)
      zeroed = SignAgreement.apply(gradient: gradient, prediction: prediction, into: &delta)
    } else {
      delta = gradient
    }
    if settings.method.predicts { trainPredictor(&state, gradient: gradient) }
    var (growing, updated) = (0, 0)
    for j in 0..<count where delta[j] != 0 {
      updated += 1
      if (state.theta[j] > 0 && delta[j] < 0) || (state.theta[j] < 0 && delta[j] > 0) { growing += 1 }
    }
    for j in 0..<count { state.theta[j] -= settings.learningRate * delta[j] }
    state.zeroedSum += Double(zeroed) / Double(count)
    state.growingSum += updated > 0 ? Double(growing) / Double(updated) : 0
  }

  /// The old tasks' direction p̄ at θ: the mean of s_k · h(θ; φ_k) (meta-sign), s_g · g(θ; μ)
  /// (meta-sign-distill), or the mean true gradient on each old task's stored minibatch (oracle).
  mutating func oldTaskDirection(_ state: ContinualState, into prediction: inout [Float]) {
    switch settings.method {
    case .metaSign:
      let old = Float(state.frozen.count)
      for (k, phi) in state.frozen.enumerated() {
        predictorNet.predict(
          phi, inputs: state.theta, scale: state.frozenScales[k] / old, into: &prediction, accumulate: k > 0)
      }
    case .metaSignDistill:
      predictorNet.predict(
        state.distilled, inputs: state.theta, scale: state.distilledScale, into: &prediction)
    default:
      trueOldGradient(state, into: &prediction)
    }
  }

  /// The mean over old tasks k < task of the gradient on task k's stored minibatch (stream
  /// "oracle" indexed by k).
  mutating func trueOldGradient(_ state: ContinualState, into out: inout [Float]) {
    var gradient = [Float](repeating: 0, count: out.count)
    let old = Float(state.task)
    for k in 0..<state.task {
      let stored = tasks.drawnBatch(
        task: k, count: settings.oracleImages, seed: seed, stream: "oracle", indices: [UInt64(k)])
      _ = lossGradient(state.theta, images: stored.images, labels: stored.labels, into: &gradient)
      for j in out.indices { out[j] = k == 0 ? gradient[j] / old : out[j] + gradient[j] / old }
    }
  }

  /// One Adam step of the current predictor on r = g / s_i at θ (before the update); s_i is
  /// RMS(g) at the task's first iteration.
  mutating func trainPredictor(_ state: inout ContinualState, gradient: [Float]) {
    if state.iteration == 0 {
      state.scale = Float(Self.rms(gradient))
      if state.scale == 0 { state.scale = 1 }
    }
    let scale = state.scale
    var inputs = state.theta
    var targets = gradient.map { $0 / scale }
    if settings.predictorCoordinates > 0 {
      var random = RandomStream(
        rootSeed: seed, stream: "coords", indices: [UInt64(state.task), UInt64(state.iteration)])
      let picked = (0..<settings.predictorCoordinates).map { _ in random.uniformInt(below: gradient.count) }
      inputs = picked.map { state.theta[$0] }
      targets = picked.map { targets[$0] }
    }
    let (loss, g) = predictorNet.regression(state.predictor, inputs: inputs, targets: targets)
    Adam(learningRate: settings.predictorLearningRate).update(
      step: state.adamSteps, parameters: &state.predictor, gradient: g, mean: &state.adamMean,
      meanSquare: &state.adamMeanSquare)
    state.adamSteps += 1
    state.lossSum += loss
    state.lossCount += 1
  }

  /// A task's end: its predictor is frozen (and distilled), its Fisher taken, the next begins.
  mutating func finishTask(_ state: inout ContinualState) {
    if settings.method.predicts && state.divergedAt == nil {
      state.frozen.append(state.predictor)
      state.frozenScales.append(state.scale)
      if settings.method == .metaSignDistill { distill(&state) }
    }
    if settings.method == .ewc && state.divergedAt == nil {
      let images = tasks.trainBatch(
        task: state.task, indices: Array(0..<min(settings.fisherImages, tasks.trainLabels.count)))
      state.fishers.append(
        ForgettingEvaluation.diagonalFisher(
          network: network, parameters: state.theta, images: images.images, count: images.labels.count,
          oldClasses: tasks.classes))
      state.anchors.append(state.theta)
    }
    state.task += 1
    state.iteration = 0
    startPredictor(&state)
  }

  /// A fresh predictor for the current task, with zero Adam moments (none for methods without).
  func startPredictor(_ state: inout ContinualState) {
    guard settings.method.predicts, state.task < tasks.tasks else {
      (state.predictor, state.adamMean, state.adamMeanSquare) = ([], [], [])
      return
    }
    state.predictor = predictorNet.initialParameters(seed: seed, index: state.task)
    state.adamMean = [Float](repeating: 0, count: state.predictor.count)
    state.adamMeanSquare = state.adamMean
    state.adamSteps = 0
    state.scale = 0
  }

  /// The paper's §5.2: after task 1, μ ← φ_1 and s_g ← s_1; after task t + 1, g learns
  /// (t/(t+1))·s_g·g_old(u) + (1/(t+1))·s_{t+1}·h(u; φ_{t+1}) from μ by full-batch Adam over a grid
  /// spanning θ's range (±10%) and θ's own values, targets normalised by their RMS, the new s_g.
  mutating func distill(_ state: inout ContinualState) {
    let t = state.distilledTasks
    defer { state.distilledTasks += 1 }
    guard t > 0 else {
      state.distilled = state.predictor
      state.distilledScale = state.scale
      return
    }
    let low = state.theta.min()!
    let high = state.theta.max()!
    let margin = 0.1 * (high - low)
    let grid = settings.distillGrid
    let inputs =
      (0..<grid).map { low - margin + (high - low + 2 * margin) * Float($0) / Float(max(1, grid - 1)) }
      + state.theta
    var old = [Float](repeating: 0, count: inputs.count)
    var new = old
    predictorNet.predict(state.distilled, inputs: inputs, scale: state.distilledScale, into: &old)
    predictorNet.predict(state.predictor, inputs: inputs, scale: state.scale, into: &new)
    let weight = Float(t) / Float(t + 1)
    var targets = zip(old, new).map { weight * $0 + (1 - weight) * $1 }
    var scale = Float(Self.rms(targets))
    if scale == 0 { scale = 1 }
    targets = targets.map { $0 / scale }
    var mean = [Float](repeating: 0, count: state.distilled.count)
    var meanSquare = mean
    let adam = Adam(learningRate: settings.predictorLearningRate)
    for step in 0..<settings.distillSteps {
      let (_, g) = predictorNet.regression(state.distilled, inputs: inputs, targets: targets)
      adam.update(step: step, parameters: &state.distilled, gradient: g, mean: &mean, meanSquare: &meanSquare)
    }
    state.distilledScale = scale
  }

  /// Among coordinates where the old tasks' true mean gradient is not zero, the fraction whose
  /// p̄ has its sign (NaN on the first task and for methods without predictors).
  mutating func agreement(_ state: ContinualState) -> Double {
    guard settings.method.predicts, state.task > 0 else { return .nan }
    var predicted = [Float](repeating: 0, count: state.theta.count)
    var truth = predicted
    oldTaskDirection(state, into: &predicted)
    trueOldGradient(state, into: &truth)
    var (agree, total) = (0, 0)
    for j in truth.indices where truth[j] != 0 {
      total += 1
      if (truth[j] > 0 && predicted[j] > 0) || (truth[j] < 0 && predicted[j] < 0) { agree += 1 }
    }
    return total > 0 ? Double(agree) / Double(total) : .nan
  }

  /// Every task's accuracy on the first `testImages` test images.
  mutating func evaluate(_ theta: [Float]) -> [Double] {
    let count = min(settings.testImages, tasks.testLabels.count)
    let last = network.layers.count - 1
    return (0..<tasks.tasks).map { task in
      var correct = 0
      var start = 0
      while start < count {
        let range = start..<min(count, start + Self.evaluationBatch)
        let images = tasks.testBatch(task: task, range: range)
        network.forward(parameters: theta, input: images, batch: range.count, workspace: &workspace)
        let labels = Array(tasks.testLabels[range])
        let logits = Array(workspace.output(last, network: network))
        correct += labels.withUnsafeBufferPointer { labels in
          logits.withUnsafeBufferPointer { logits in
            SoftmaxCrossEntropy.correct(logits: logits, labels: labels, classes: tasks.classes)
          }
        }
        start = range.upperBound
      }
      return Double(correct) / Double(count)
    }
  }

  static func rms(_ values: [Float]) -> Double {
    var squares = 0.0
    for v in values { squares += Double(v) * Double(v) }
    return (squares / Double(values.count)).squareRoot()
  }

  /// The mean cross-entropy of the minibatch at θ, and its gradient written into `gradient`.
  mutating func lossGradient(_ theta: [Float], images: [Float], labels: [Int32], into gradient: inout [Float])
    -> Double
  {
    let last = network.layers.count - 1
    let network = self.network
    network.forward(parameters: theta, input: images, batch: labels.count, workspace: &workspace)
    let loss = labels.withUnsafeBufferPointer { labels in
      workspace.withOutputAndGradient(last, network: network) { logits, out in
        SoftmaxCrossEntropy.loss(logits: logits, labels: labels, classes: network.output.count, gradient: out)
      }
    }
    network.backward(parameters: theta, from: last, gradient: &gradient, workspace: &workspace)
    return loss
  }
}
