import Dispatch

/// The settings of one LSTM meta-training run (notes/meta-experiments.md §2.1–2.3); every field
/// has the smoke configuration's default.
public struct MetaTrainingSettings: Sendable, Equatable {
  /// Family, episodic/stream mode and segment length of training sequences (Boolean, episodic).
  public var sequences = SequenceSettings()
  /// The network (H = 12, no dense layer, sigmoid readout).
  public var shape = LSTMShape()
  /// Cycles per training sequence, L_train (64).
  public var trainingLength = 64
  /// Sequences per step, B (32).
  public var batchSize = 32
  /// Adam's α (0.003).
  public var learningRate: Float = 0.003
  /// Adam's β₁ (0.9).
  public var adamBeta1: Float = 0.9
  /// Adam's β₂ (0.999).
  public var adamBeta2: Float = 0.999
  /// Adam's ε (1e-8).
  public var adamEpsilon: Float = 1e-8
  /// The largest global gradient norm; larger gradients are scaled down to it (1.0).
  public var clipNorm: Float = 1.0
  /// Steps averaged into one point of the training curve (100).
  public var curveBin = 100
  /// Steps between validations for best-so-far parameters; 0 turns validation off (500).
  public var validationEvery = 500
  /// Validation sequences of length L_train, from the stream (seed, "validation", k) (64).
  public var validationSequences = 64
  /// Threads computing per-sequence gradients (1). Results do not depend on it: gradients are
  /// summed in sequence-index order.
  public var threads = 1
  /// Shards each step's batch is split into (1): contiguous ranges of sequence indices
  /// (``MetaTraining/shardRange(_:of:batch:)``). A shard's gradient is the sum of its sequences'
  /// in index order, and the batch gradient the sum of the shards' in shard order, so a step gives
  /// the same bits however many processes computed which shards. The shard count changes the
  /// association of that sum, hence results; 1 is the unsharded sum.
  public var shards = 1

  public init() {}

  /// The optimiser.
  public var adam: Adam {
    Adam(learningRate: learningRate, beta1: adamBeta1, beta2: adamBeta2, epsilon: adamEpsilon)
  }

  /// A 64-bit fingerprint of every setting that changes results (all but ``threads``): a
  /// checkpoint made under other settings is refused on resume.
  public var fingerprint: UInt64 {
    let text = [
      sequences.family.rawValue, sequences.mode.rawValue, "\(sequences.segmentLength)",
      "\(sequences.booleanFunctionMask)",
      "\(shape.inputs)", "\(shape.hidden)", "\(shape.dense)", shape.readout.rawValue, "\(trainingLength)",
      "\(batchSize)",
      "\(learningRate.bitPattern)", "\(adamBeta1.bitPattern)", "\(adamBeta2.bitPattern)",
      "\(adamEpsilon.bitPattern)",
      "\(clipNorm.bitPattern)", "\(curveBin)", "\(validationEvery)", "\(validationSequences)",
    ].joined(separator: "|")
    // One shard is the sum fingerprinted before shards existed: its checkpoints stay valid.
    return RandomStream.fnv1a64(shards == 1 ? text : text + "|shards=\(shards)")
  }
}

/// Everything a meta-training run carries from one step to the next: the checkpoint a chained
/// run ships between workers (binary form in `MetaTrainingState+Binary.swift`).
///
/// Sequences come from counter-based streams (seed, "seq", [step, b]), so no RNG state is needed.
public struct MetaTrainingState: Sendable, Equatable {
  /// ``MetaTrainingSettings/fingerprint`` of the settings that made this state.
  public var settingsFingerprint: UInt64
  /// Steps completed; the next step has this 0-based index.
  public var step: Int
  /// The flat parameter vector (layout in ``LSTMShape``).
  public var parameters: [Float]
  /// Adam's first moments m, one per parameter.
  public var adamMean: [Float]
  /// Adam's second moments v, one per parameter.
  public var adamMeanSquare: [Float]
  /// The parameters with the lowest validation MSE so far (the initial ones before any validation).
  public var bestParameters: [Float]
  /// That validation MSE (+∞ before any validation).
  public var bestValidationMSE: Double
  /// Steps completed when ``bestParameters`` were taken (0 before any validation).
  public var bestStep: Int
  /// Steps whose gradient was clipped.
  public var clippedSteps: Int
  /// Sum of the batch MSEs of the unfinished training-curve bin.
  public var curveBinSum: Double
  /// Steps in the unfinished training-curve bin.
  public var curveBinCount: Int
  /// Mean training-batch MSE per finished bin of ``MetaTrainingSettings/curveBin`` steps.
  public var trainingCurve: [Double]
  /// Validation MSE at each validation.
  public var validationCurve: [Double]

  public init(
    settingsFingerprint: UInt64, step: Int, parameters: [Float], adamMean: [Float], adamMeanSquare: [Float],
    bestParameters: [Float], bestValidationMSE: Double, bestStep: Int, clippedSteps: Int, curveBinSum: Double,
    curveBinCount: Int, trainingCurve: [Double], validationCurve: [Double]
  ) {
    self.settingsFingerprint = settingsFingerprint
    self.step = step
    self.parameters = parameters
    self.adamMean = adamMean
    self.adamMeanSquare = adamMeanSquare
    self.bestParameters = bestParameters
    self.bestValidationMSE = bestValidationMSE
    self.bestStep = bestStep
    self.clippedSteps = clippedSteps
    self.curveBinSum = curveBinSum
    self.curveBinCount = curveBinCount
    self.trainingCurve = trainingCurve
    self.validationCurve = validationCurve
  }

  /// The state before step 0: parameters from (seed, "init"), zero moments.
  public init(settings: MetaTrainingSettings, seed: UInt64) {
    let network = LSTMNetwork(shape: settings.shape, seed: seed)
    let zeros = [Float](repeating: 0, count: network.parameters.count)
    self.init(
      settingsFingerprint: settings.fingerprint, step: 0, parameters: network.parameters, adamMean: zeros,
      adamMeanSquare: zeros, bestParameters: network.parameters, bestValidationMSE: .infinity, bestStep: 0,
      clippedSteps: 0, curveBinSum: 0, curveBinCount: 0, trainingCurve: [], validationCurve: [])
  }
}

/// Meta-training by BPTT (Younger, Hochreiter and Conwell 2001; notes/meta-experiments.md §2.1):
/// each step draws B fresh sequences, backpropagates the MSE over all their cycles, sums the
/// per-sequence gradients in index order, clips the global norm and takes one Adam step.
public enum MetaTraining {
  /// Runs `steps` more steps from `state` (which must come from these settings).
  public static func train(
    _ state: MetaTrainingState, settings: MetaTrainingSettings, seed: UInt64, steps: Int
  )
    -> MetaTrainingState
  {
    precondition(state.settingsFingerprint == settings.fingerprint, "state was made under other settings")
    var state = state
    var workspace = Workspace(settings: settings)
    for _ in 0..<steps {
      let squaredError = batchGradient(
        parameters: state.parameters, settings: settings, seed: seed, step: state.step, workspace: &workspace)
      applyStep(
        to: &state, gradient: &workspace.gradient, squaredError: squaredError, settings: settings, seed: seed)
    }
    return state
  }

  /// Ends step `state.step` given its batch gradient (summed in shard order) and the batch's
  /// Σ (ŷ − y)²: clips the gradient's global norm (in place), takes one Adam step, extends the
  /// training curve and, every ``MetaTrainingSettings/validationEvery`` steps, validates. What a
  /// single process does after ``batchGradient(parameters:settings:seed:step:workspace:)``, and
  /// what the coordinator of a round does after ``reduce(_:)``: the same code, so the same bits.
  public static func applyStep(
    to state: inout MetaTrainingState, gradient: inout [Float], squaredError: Double,
    settings: MetaTrainingSettings, seed: UInt64
  ) {
    if clipByGlobalNorm(&gradient, maximumNorm: settings.clipNorm).isClipped {
      state.clippedSteps += 1
    }
    settings.adam.update(
      step: state.step, parameters: &state.parameters, gradient: gradient, mean: &state.adamMean,
      meanSquare: &state.adamMeanSquare)
    state.step += 1
    state.curveBinSum += squaredError / Double(settings.batchSize * settings.trainingLength)
    state.curveBinCount += 1
    if state.curveBinCount == settings.curveBin {
      state.trainingCurve.append(state.curveBinSum / Double(settings.curveBin))
      state.curveBinSum = 0
      state.curveBinCount = 0
    }
    if settings.validationEvery > 0 && settings.validationSequences > 0
      && state.step % settings.validationEvery == 0
    {
      let mse = validationMSE(parameters: state.parameters, settings: settings, seed: seed)
      state.validationCurve.append(mse)
      if mse < state.bestValidationMSE {
        state.bestValidationMSE = mse
        state.bestParameters = state.parameters
        state.bestStep = state.step
      }
    }
  }

  /// Buffers reused across steps: one gradient slot per sequence and the summed gradient.
  public struct Workspace: Sendable {
    var slots: [Float]
    var squaredErrors: [Double]
    /// One lane workspace per thread, kept across steps (their buffers are large enough that
    /// allocating them every step costs page faults).
    var lanes: [LSTMLaneWorkspace]
    /// The batch gradient of the last ``batchGradient(parameters:settings:seed:step:workspace:)``,
    /// or the shard gradient of the last ``shardGradient(parameters:settings:seed:step:shard:workspace:)``.
    public internal(set) var gradient: [Float]
    /// One shard's sum while the batch gradient adds the shards up.
    var shardSum: [Float]

    public init(settings: MetaTrainingSettings) {
      let count = settings.shape.parameterCount
      shardSum = [Float](repeating: 0, count: count)
      slots = [Float](repeating: 0, count: count * settings.batchSize)
      squaredErrors = [Double](repeating: 0, count: settings.batchSize)
      lanes = (0..<max(1, min(settings.threads, (settings.batchSize + 7) / 8))).map { _ in
        LSTMLaneWorkspace(shape: settings.shape, length: settings.trainingLength)
      }
      gradient = [Float](repeating: 0, count: count)
    }
  }

  /// The batch indices of shard `shard` of `shards`: contiguous, the first `batch % shards`
  /// shards one longer, together covering `0..<batch` in order.
  public static func shardRange(_ shard: Int, of shards: Int, batch: Int) -> Range<Int> {
    precondition(shards >= 1 && (0..<shards).contains(shard), "no shard \(shard) of \(shards)")
    let (base, extra) = (batch / shards, batch % shards)
    let start = shard * base + min(shard, extra)
    return start..<(start + base + (shard < extra ? 1 : 0))
  }

  /// Puts into `workspace.gradient` the gradient of step `step`'s batch loss
  /// (1/(B·L))·Σ_b Σ_t (ŷ − y)², and returns the batch's Σ (ŷ − y)².
  ///
  /// Sequences are processed eight at a time, one per SIMD lane (``LSTMLaneWorkspace``); sequence
  /// b's gradient goes to slot b. The slots of each shard (``MetaTrainingSettings/shards``) are
  /// added in b order, then the shards' sums in shard order (``reduce(_:)``), and the squared
  /// errors alike, so the sum has the same bits for every thread count, and equals the reduction
  /// of the shards' ``shardGradient(parameters:settings:seed:step:shard:workspace:)`` computed anywhere.
  @discardableResult
  public static func batchGradient(
    parameters: [Float], settings: MetaTrainingSettings, seed: UInt64, step: Int, workspace: inout Workspace
  ) -> Double {
    let batch = settings.batchSize
    let shards = max(1, min(settings.shards, batch))
    computeSlots(
      0..<batch, parameters: parameters, settings: settings, seed: seed, step: step, workspace: &workspace)
    var squaredError = 0.0
    for shard in 0..<shards {
      let range = shardRange(shard, of: shards, batch: batch)
      let shardError = sumSlots(range, into: &workspace.shardSum, workspace: workspace)
      if shard == 0 {
        workspace.gradient = workspace.shardSum
        squaredError = shardError
      } else {
        workspace.gradient.withUnsafeMutableBufferPointer { g in
          workspace.shardSum.withUnsafeBufferPointer { sum in
            for k in 0..<g.count { g[k] += sum[k] }
          }
        }
        squaredError += shardError
      }
    }
    return squaredError
  }

  /// Puts into `workspace.gradient` the sum of the gradients of shard `shard`'s sequences of step
  /// `step` (scaled as in the batch gradient), in index order, and returns their Σ (ŷ − y)²: what
  /// one worker of a round computes. ``reduce(_:)`` of every shard's, in shard order, is bit for
  /// bit ``batchGradient(parameters:settings:seed:step:workspace:)``'s.
  @discardableResult
  public static func shardGradient(
    parameters: [Float], settings: MetaTrainingSettings, seed: UInt64, step: Int, shard: Int,
    workspace: inout Workspace
  ) -> Double {
    let batch = settings.batchSize
    let range = shardRange(shard, of: max(1, min(settings.shards, batch)), batch: batch)
    computeSlots(
      range, parameters: parameters, settings: settings, seed: seed, step: step, workspace: &workspace)
    return sumSlots(range, into: &workspace.gradient, workspace: workspace)
  }

  /// The batch gradient and squared error from every shard's, given in shard order: the first
  /// shard's, plus each next one in turn.
  public static func reduce(_ shards: [(gradient: [Float], squaredError: Double)]) -> (
    gradient: [Float], squaredError: Double
  ) {
    precondition(!shards.isEmpty, "no shards to reduce")
    var gradient = shards[0].gradient
    var squaredError = shards[0].squaredError
    for shard in shards.dropFirst() {
      precondition(shard.gradient.count == gradient.count, "shard gradients of different sizes")
      for k in gradient.indices { gradient[k] += shard.gradient[k] }
      squaredError += shard.squaredError
    }
    return (gradient, squaredError)
  }

  /// Slots `range` (and their squared errors): each sequence's gradient.
  private static func computeSlots(
    _ range: Range<Int>, parameters: [Float], settings: MetaTrainingSettings, seed: UInt64, step: Int,
    workspace: inout Workspace
  ) {
    let shape = settings.shape
    let count = shape.parameterCount
    let batch = settings.batchSize
    let length = settings.trainingLength
    let groups = (range.count + 7) / 8
    let threads = workspace.lanes.count
    precondition(
      threads == max(1, min(settings.threads, (batch + 7) / 8)), "workspace made for other settings")
    let scale = 1 / Float(batch * length)
    let sequences = settings.sequences
    parameters.withUnsafeBufferPointer { p in
      workspace.slots.withUnsafeMutableBufferPointer { slots in
        workspace.squaredErrors.withUnsafeMutableBufferPointer { errors in
          workspace.lanes.withUnsafeMutableBufferPointer { laneWorkspaces in
            let shared = SlotWriter(parameters: p, slots: slots, errors: errors, lanes: laneWorkspaces)
            // Worker w takes lane groups w, w + T, …; group q is sequences start + 8q ..< start + 8q + 8.
            // A sequence's gradient has the same bits in any lane and group (lanes are independent).
            let work: @Sendable (Int) -> Void = { worker in
              let lanes = shared.lanes.baseAddress! + worker
              for group in stride(from: worker, to: groups, by: threads) {
                let first = range.lowerBound + 8 * group
                let indices = first..<min(range.upperBound, first + 8)
                let batchSequences = indices.map {
                  MetaSequence.training(
                    settings: sequences, length: length, seed: seed, step: step, index: $0)
                }
                lanes.pointee.run(parameters: shared.parameters, sequences: batchSequences[...], scale: scale)
                for (lane, b) in indices.enumerated() {
                  let slot = shared.slots.baseAddress! + b * count
                  lanes.pointee.gradient.withUnsafeBufferPointer { g in
                    for k in 0..<count { slot[k] = g[k][lane] }
                  }
                  shared.errors[b] = lanes.pointee.squaredErrors[lane]
                }
              }
            }
            if threads == 1 || groups <= 1 {
              for worker in 0..<min(threads, max(groups, 1)) { work(worker) }
            } else {
              DispatchQueue.concurrentPerform(iterations: threads, execute: work)
            }
          }
        }
      }
    }
  }

  /// Puts the sum of slots `range`, in index order, into `sum` and returns their squared errors'
  /// sum in the same order.
  private static func sumSlots(_ range: Range<Int>, into sum: inout [Float], workspace: Workspace) -> Double {
    let count = sum.count
    var squaredError = 0.0
    for b in range { squaredError += workspace.squaredErrors[b] }
    workspace.slots.withUnsafeBufferPointer { slots in
      sum.withUnsafeMutableBufferPointer { g in
        let first = slots.baseAddress! + range.lowerBound * count
        for k in 0..<count { g[k] = first[k] }
        for b in (range.lowerBound + 1)..<max(range.lowerBound + 1, range.upperBound) {
          let slot = slots.baseAddress! + b * count
          for k in 0..<count { g[k] += slot[k] }
        }
      }
    }
    return squaredError
  }

  /// The MSE over all cycles of the validation sequences (seed, "validation", k), k < the
  /// configured count, of length L_train.
  public static func validationMSE(parameters: [Float], settings: MetaTrainingSettings, seed: UInt64)
    -> Double
  {
    let network = LSTMNetwork(shape: settings.shape, parameters: parameters)
    var sum = 0.0
    for k in 0..<settings.validationSequences {
      let sequence = MetaSequence.validation(
        settings: settings.sequences, length: settings.trainingLength, seed: seed, index: k)
      let predictions = network.predictions(for: sequence)
      for t in 0..<sequence.length {
        let e = Double(predictions[t]) - Double(sequence.targets[t])
        sum += e * e
      }
    }
    return sum / Double(settings.validationSequences * settings.trainingLength)
  }
}

/// The buffers the gradient workers share.
///
/// `@unchecked Sendable` because it holds raw pointers. Invariant: the parameters are only read,
/// and worker w writes only slot b and `errors[b]` for the sequences b of its lane groups, so no two threads touch
/// the same element; the buffers outlive `concurrentPerform`, which returns after every worker.
struct SlotWriter: @unchecked Sendable {
  let parameters: UnsafeBufferPointer<Float>
  let slots: UnsafeMutableBufferPointer<Float>
  let errors: UnsafeMutableBufferPointer<Double>
  /// Worker w uses only `lanes[w]`.
  let lanes: UnsafeMutableBufferPointer<LSTMLaneWorkspace>
}
