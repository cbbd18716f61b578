/// What the per-example error of a run is.
public enum ErrorConvention: String, Sendable, Equatable, CaseIterable {
  /// δ², the squared error (default).
  case squared
  /// ½δ², the loss, as the authors' code stored it.
  case halfSquared = "half_squared"

  /// The recorded error of one example with error `delta`.
  @inline(__always) public func error(_ delta: Float) -> Double {
    let d = Double(delta)
    return self == .squared ? d * d : 0.5 * (d * d)
  }
}

/// Everything one GEOFF run needs besides its seed.
public struct GeoffRunSettings: Sendable, Equatable {
  /// The task generator.
  public var task = GeoffTaskSettings()
  /// The learner; its `inputs` must equal the task's.
  public var learner = GeoffLearnerSettings()
  /// Examples per point of the binned curves (100); must divide `task.examplesPerTask`.
  public var binSize = 100
  /// The number of final examples of a stage averaged into its error metric (500).
  public var tailExamples = 500
  /// δ² or ½δ² (δ²).
  public var errorConvention = ErrorConvention.squared
  /// ‖·‖ or ‖·‖² for the drift (‖·‖).
  public var normConvention = NormConvention.l2

  public init() {}
}

/// What one GEOFF run recorded.
public struct GeoffRunRecord: Sendable, Equatable {
  /// Mean error per bin of `binSize` examples, over all stages in order.
  public var binnedError: [Double] = []
  /// ‖U − U₀‖ over the input weights (hidden biases excluded) at the end of every bin.
  public var inputWeightDrift: [Double] = []
  /// ‖w − w₀‖ over the output weights (output bias excluded) at the end of every bin.
  public var outputWeightDrift: [Double] = []
  /// Mean error over the last `tailExamples` examples of each stage.
  public var stageError: [Double] = []
  /// ‖U − U₀‖ at the end of each stage.
  public var stageInputWeightDrift: [Double] = []
  /// ‖w − w₀‖ at the end of each stage.
  public var stageOutputWeightDrift: [Double] = []

  public init() {}
}

/// One GEOFF run: the task from stream "task" and the learner from stream "init" of the seed, the
/// learner trained online through every stage, errors binned and drift recorded.
public enum GeoffRun {
  /// Runs the trial of `settings` with root seed `seed`. A pure function of its arguments.
  public static func run(settings: GeoffRunSettings, seed: UInt64) -> GeoffRunRecord {
    let task = GeoffTask(settings: settings.task, seed: seed)
    let learner = GeoffLearner(settings: settings.learner, seed: seed)
    return run(settings: settings, task: task, learner: learner)
  }

  /// Trains `learner` on `task` and records the run.
  public static func run(settings: GeoffRunSettings, task: GeoffTask, learner initial: GeoffLearner)
    -> GeoffRunRecord
  {
    precondition(settings.binSize > 0 && task.settings.examplesPerTask % settings.binSize == 0)
    precondition(settings.tailExamples > 0 && settings.tailExamples <= task.settings.examplesPerTask)
    precondition(initial.settings.inputs == task.settings.inputs)
    var learner = initial
    var record = GeoffRunRecord()
    let perTask = task.settings.examplesPerTask
    let tailStart = perTask - settings.tailExamples
    let bins = perTask / settings.binSize
    record.binnedError.reserveCapacity(bins * task.settings.stages)
    for stage in 0..<task.settings.stages {
      let data = task.data(stage: stage)
      var tailSum = 0.0
      data.inputs.withUnsafeBufferPointer { inputs in
        data.targets.withUnsafeBufferPointer { targets in
          for bin in 0..<bins {
            var binSum = 0.0
            for k in (bin * settings.binSize)..<((bin + 1) * settings.binSize) {
              let delta = learner.learn(inputs[k], target: Float(targets[k]))
              let error = settings.errorConvention.error(delta)
              binSum += error
              if k >= tailStart { tailSum += error }
            }
            record.binnedError.append(binSum / Double(settings.binSize))
            let drift = learner.squaredDrift(from: initial)
            record.inputWeightDrift.append(settings.normConvention.drift(squaredNorm: drift.input))
            record.outputWeightDrift.append(settings.normConvention.drift(squaredNorm: drift.output))
          }
        }
      }
      record.stageError.append(tailSum / Double(settings.tailExamples))
      record.stageInputWeightDrift.append(record.inputWeightDrift[record.inputWeightDrift.count - 1])
      record.stageOutputWeightDrift.append(record.outputWeightDrift[record.outputWeightDrift.count - 1])
    }
    return record
  }
}
