/// Settings of meta-training with a multi-task teacher (meta-experiments.md §3.1d and the smoke
/// column of §3.2, which are the defaults).
public struct TeacherMetaTrainingSettings: Sendable, Equatable {
  /// The inner step (α, c, Huber δ, the meta-learners' size).
  public var step = TeacherGuidedSettings.smoke
  /// Episodes (80).
  public var episodes = 80
  /// T_max, inner steps at most per episode (60).
  public var maxSteps = 60
  /// Task-A and task-B images in the teacher's multi-task batch; the student's batch is the task-B
  /// part (64 + 64).
  public var batchA = 64
  public var batchB = 64
  /// Adam's step size for the meta-learners (1e-3).
  public var metaLearningRate: Float = 1e-3
  /// τ_i = min(τ_max, τ_0 + Δτ·⌊i/E⌋): an episode ends when L exceeds it (20, +5, 30).
  public var tauStart = 20.0
  public var tauStep = 5.0
  public var tauMax = 30.0
  /// K_i = min(K_max, K_0 + ΔK·⌊i/E⌋): steps per truncation window (3, +1, 5).
  public var windowStart = 3
  public var windowStep = 1
  public var windowMax = 5
  /// E, episodes per level of the curriculum (25).
  public var levelEpisodes = 25
  /// Exp 2: task-B classes each episode draws from task B's (0: every episode has all of them,
  /// Exp 1). The union head then has this many task-B rows, redrawn for every episode.
  public var classesPerEpisode = 0

  public init() {}

  /// τ_i of episode `episode` (0-based).
  public func tau(episode: Int) -> Double {
    min(tauMax, tauStart + tauStep * Double(episode / levelEpisodes))
  }
  /// K_i of episode `episode` (0-based).
  public func window(episode: Int) -> Int {
    min(windowMax, windowStart + windowStep * (episode / levelEpisodes))
  }
}

/// A task's images for meta-training: pixels in [0, 1] (count × pixels) and union-head labels.
public struct TeacherTaskImages: Sendable {
  public let images: [Float]
  public let labels: [Int32]
  public let pixelsPerImage: Int
  public var count: Int { labels.count }

  public init(images: [Float], labels: [Int32], pixelsPerImage: Int) {
    precondition(images.count == labels.count * pixelsPerImage && !labels.isEmpty)
    self.images = images
    self.labels = labels
    self.pixelsPerImage = pixelsPerImage
  }

  /// `count` images drawn with replacement from stream `stream` with indices `indices` of `seed`.
  func batch(count: Int, seed: UInt64, stream: String, indices: [UInt64]) -> (
    images: [Float], labels: [Int32]
  ) {
    var random = RandomStream(rootSeed: seed, stream: stream, indices: indices)
    var images = [Float](repeating: 0, count: count * pixelsPerImage)
    var labels = [Int32](repeating: 0, count: count)
    for slot in 0..<count {
      let index = random.uniformInt(below: self.count)
      labels[slot] = self.labels[index]
      for k in 0..<pixelsPerImage {
        images[slot * pixelsPerImage + k] = self.images[index * pixelsPerImage + k]
      }
    }
    return (images, labels)
  }

  /// The images labelled `offset + classes[k]`, relabelled `offset + k`: an Exp 2 episode's task B
  /// from all of task B's classes (labelled from `offset` on).
  public func restricted(to classes: [Int], offset: Int) -> TeacherTaskImages {
    var position = [Int32: Int32]()
    for (k, c) in classes.enumerated() { position[Int32(offset + c)] = Int32(offset + k) }
    var kept: [Float] = []
    var labels: [Int32] = []
    for (index, label) in self.labels.enumerated() {
      guard let new = position[label] else { continue }
      labels.append(new)
      kept += images[(index * pixelsPerImage)..<((index + 1) * pixelsPerImage)]
    }
    return TeacherTaskImages(images: kept, labels: labels, pixelsPerImage: pixelsPerImage)
  }
}

/// The state of a meta-training run at a truncation boundary (where checkpoints are taken: no
/// window is open, meta-experiments.md §3.3): the meta-learners and Adam's moments, where the run
/// is, the episode's student, teacher and meta-learner states, and the curves so far.
public struct TeacherMetaTrainingState: Sendable, Equatable {
  /// θ of every steered layer's meta-learner.
  public var meta: [[Float]]
  public var adamMean: [[Float]]
  public var adamMeanSquare: [[Float]]
  /// Inner steps taken in all (Adam's t).
  public var innerSteps = 0
  /// The current episode (0-based), and the steps taken in it (0: not begun).
  public var episode = 0
  public var stepInEpisode = 0
  /// The episode's networks and meta-learner states (empty before it begins).
  public var student: [Float] = []
  public var teacher: [Float] = []
  public var states: [LayerMetaLearner.State<Float>] = []
  /// Per finished episode: its steps, its last loss, and the mean loss over its steps.
  public var episodeSteps: [Double] = []
  public var episodeFinalLoss: [Double] = []
  public var episodeMeanLoss: [Double] = []
  /// The running sum of the current episode's losses.
  public var lossSum = 0.0

  public var isFinished: Bool { episode >= episodeCount }
  let episodeCount: Int

  /// The start of a run: initial meta-learners for `seed`, zero moments.
  public init(step: TeacherGuidedStep<Float>, settings: TeacherMetaTrainingSettings, seed: UInt64) {
    meta = step.initialMetaParameters(seed: seed)
    adamMean = meta.map { [Float](repeating: 0, count: $0.count) }
    adamMeanSquare = adamMean
    episodeCount = settings.episodes
  }
}

/// Meta-training of the per-layer meta-learners (Algorithm 1 of the paper as meta-experiments.md
/// §3.1d pins it down): each episode starts the student and the teacher from a pretrained `w0`
/// (with a pool of them, Exp 3, the one ``poolMember(episode:count:seed:)`` picks),
/// runs up to T_max inner steps (``TeacherGuidedStep``), takes one Adam step of θ after every inner
/// step with the gradient of that step's loss through the current window, ends when the loss exceeds
/// τ_i, and cuts the window every K_i steps. Batches are drawn with replacement from streams
/// "dataA" and "dataB" indexed by (episode, step), so a run is a pure function of its seed and
/// inputs, whatever segments it is run in.
public enum TeacherMetaTraining {
  /// The member of a pool of `count` pretrained networks that episode `episode` starts from: 0 for
  /// a single network, otherwise `RandomStream(rootSeed: seed, stream: "teacher.pool", indices:
  /// [episode]).uniformInt(below: count)`, so a resumed run knows it without storing it.
  public static func poolMember(episode: Int, count: Int, seed: UInt64) -> Int {
    guard count > 1 else { return 0 }
    var random = RandomStream(rootSeed: seed, stream: "teacher.pool", indices: [UInt64(episode)])
    return random.uniformInt(below: count)
  }

  /// Exp 2: the task-B classes episode `episode` learns when it draws `count` of task B's `total`
  /// (indices into task B's classes, ascending), from `RandomStream(rootSeed: seed, stream:
  /// "teacher.bclasses", indices: [episode])`, so a resumed run knows them without storing them.
  public static func episodeClasses(episode: Int, count: Int, of total: Int, seed: UInt64) -> [Int] {
    var random = RandomStream(rootSeed: seed, stream: "teacher.bclasses", indices: [UInt64(episode)])
    return random.choose(count, below: total)
  }

  /// Runs from `state` until the run is finished or `maxInnerSteps` inner steps are done (0: no
  /// limit), stopping only at a truncation boundary or an episode's end. `pool` holds the
  /// pretrained networks' parameters (one, or a pool), all of `step`'s network.
  ///
  /// With `settings.classesPerEpisode` k > 0 (Exp 2), `taskB` holds all `taskBClasses` of task B's
  /// classes, labelled from |A| = the head's rows − k on; each episode learns the k that
  /// ``episodeClasses(episode:count:of:seed:)`` draws, relabelled |A| ..< |A| + k, and starts with
  /// the head's task-B rows drawn afresh from stream "headB" indexed by the episode.
  public static func train(
    _ state: inout TeacherMetaTrainingState, step: inout TeacherGuidedStep<Float>,
    settings: TeacherMetaTrainingSettings, pool: [[Float]], taskA: TeacherTaskImages,
    taskB: TeacherTaskImages, taskBClasses: Int = 0,
    seed: UInt64, maxInnerSteps: Int = 0
  ) {
    let adam = Adam(learningRate: settings.metaLearningRate)
    let drawn = settings.classesPerEpisode
    precondition(drawn == 0 || (1...taskBClasses).contains(drawn))
    var done = 0
    while !state.isFinished {
      let member = poolMember(episode: state.episode, count: pool.count, seed: seed)
      var start = pool[member]
      var episodeB = taskB
      if drawn > 0 {
        let classesA = step.network.output.count - drawn
        episodeB = taskB.restricted(
          to: episodeClasses(episode: state.episode, count: drawn, of: taskBClasses, seed: seed),
          offset: classesA)
        var random = RandomStream(rootSeed: seed, stream: "headB", indices: [UInt64(state.episode)])
        step.network.drawHeadRows(classesA..<(classesA + drawn), of: &start, random: &random)
      }
      var episode = TeacherGuidedStep<Float>.Episode(parameters: start, step: step)
      if state.stepInEpisode > 0 {
        episode.student = state.student
        episode.teacher = state.teacher
        episode.states = state.states
      }
      let tau = settings.tau(episode: state.episode)
      let window = settings.window(episode: state.episode)
      var sinceTruncation = 0
      var ended = false
      while state.stepInEpisode < settings.maxSteps {
        let indices = [UInt64(state.episode), UInt64(state.stepInEpisode)]
        let a = taskA.batch(count: settings.batchA, seed: seed, stream: "dataA", indices: indices)
        let b = episodeB.batch(count: settings.batchB, seed: seed, stream: "dataB", indices: indices)
        let (loss, gradient) = step.step(
          episode: &episode, meta: state.meta, multitask: (a.images + b.images, a.labels + b.labels),
          taskB: (b.images, b.labels))
        for l in state.meta.indices {
          adam.update(
            step: state.innerSteps, parameters: &state.meta[l], gradient: gradient[l],
            mean: &state.adamMean[l],
            meanSquare: &state.adamMeanSquare[l])
        }
        state.innerSteps += 1
        state.stepInEpisode += 1
        state.lossSum += loss
        done += 1
        sinceTruncation += 1
        if loss > tau || !loss.isFinite || state.stepInEpisode == settings.maxSteps {
          state.episodeSteps.append(Double(state.stepInEpisode))
          state.episodeFinalLoss.append(loss)
          state.episodeMeanLoss.append(state.lossSum / Double(state.stepInEpisode))
          ended = true
          break
        }
        if sinceTruncation >= window {
          sinceTruncation = 0
          episode.truncate()
          if maxInnerSteps > 0 && done >= maxInnerSteps { break }
        }
      }
      if ended {
        state.episode += 1
        state.stepInEpisode = 0
        state.lossSum = 0
        state.student = []
        state.teacher = []
        state.states = []
      } else {
        state.student = episode.student
        state.teacher = episode.teacher
        state.states = episode.states
      }
      if maxInnerSteps > 0 && done >= maxInnerSteps { return }
    }
  }
}
