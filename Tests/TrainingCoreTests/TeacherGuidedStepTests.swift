import Testing
import TrainingCore

/// A tiny student in Double: conv 3×3 → 2, ReLU, pool, dense → 4, ReLU (the representation), a
/// union head of 4 classes. Its steered layers are the convolution and the hidden dense layer.
private let tinyNetwork: ConvNet = {
  do {
    return try ConvNet(
      input: TensorShape(channels: 1, height: 8, width: 8),
      layers: [
        .convolution(channels: 2, kernel: 3), .relu, .maxPool, .dense(outputs: 4), .relu, .dense(outputs: 4),
      ])
  } catch {
    fatalError("the tiny network: \(error)")
  }
}()

private func batch(_ random: inout RandomStream, count: Int) -> (images: [Double], labels: [Int32]) {
  (
    (0..<(count * 64)).map { _ in random.uniformDouble() },
    (0..<count).map { _ in Int32(random.uniformInt(below: 4)) }
  )
}

/// The replay test on `network` (64 input values, 4 classes), whose steered layers must be
/// `expectedSteered`.
private func checkReplay(_ network: ConvNet, expectedSteered: [Int], groupNormRule: GroupNormRule = .sgd) {
  let representation = network.layers.count - 2
  // meta-experiments.md §3.1d's replay test: record a window, recompute L_t as a function of θ
  // alone (every step's inputs z_k and gradients g_k held fixed), and compare the first-order
  // meta-gradient with central differences in Double.
  var settings = TeacherGuidedSettings()
  settings.hidden = 3
  settings.lstmLayers = 2
  settings.stepSize = 0.3
  settings.lossScale = 5
  settings.groupNormRule = groupNormRule
  settings.groupNormHidden = 2
  var step = TeacherGuidedStep<Double>(network: network, settings: settings, batchCapacity: 6)
  #expect(step.steered == expectedSteered)
  var random = RandomStream(rootSeed: 12, stream: "replay")
  var meta = step.initialMetaParameters(seed: 3)
  for l in meta.indices {
    for k in meta[l].indices { meta[l][k] += 0.3 * (2 * random.uniformDouble() - 1) }
  }
  var episode = TeacherGuidedStep<Double>.Episode(
    parameters: network.initialParameters(seed: 5), step: step)
  // One step before the window, then a truncation: the window starts from a moved W and state.
  _ = step.step(
    episode: &episode, meta: meta, multitask: batch(&random, count: 6), taskB: batch(&random, count: 3))
  episode.truncate()
  let start = episode
  var last: (loss: Double, metaGradient: [[Double]]) = (0, [])
  var lastBatch = batch(&random, count: 6)
  for _ in 0..<3 {
    lastBatch = batch(&random, count: 6)
    last = step.step(episode: &episode, meta: meta, multitask: lastBatch, taskB: batch(&random, count: 3))
  }
  // Replay: δ_k(θ) from the window's start state and recorded inputs, and
  // W_end(θ) = W_end + α Σ_k (δ_k(θ₀) − δ_k(θ))⊙g_k on the steered weights.
  func deltas(_ meta: [[Double]]) -> [[[Double]]] {
    step.steered.indices.map { index in
      var state = start.states[index]
      return episode.window[index].map { record in
        LayerMetaLearner.step(
          shape: step.shapes[index], parameters: meta[index],
          inputs: record.inputs(shape: step.shapes[index]),
          state: &state
        ).delta
      }
    }
  }
  let recorded = deltas(meta)
  var teacherSpace = ConvNetWorkspace<Double>(network: network, batchCapacity: 6)
  network.forward(
    parameters: episode.teacher, input: lastBatch.images, batch: 6, through: representation,
    workspace: &teacherSpace)
  let teacherFeatures = Array(teacherSpace.output(representation, network: network))
  func loss(_ meta: [[Double]]) -> Double {
    var student = episode.student
    for (index, perStep) in deltas(meta).enumerated() {
      let weights = step.targets[index]
      for (k, delta) in perStep.enumerated() {
        let g = episode.windowGradients[index][k]
        for (offset, p) in weights.enumerated() {
          student[p] += settings.stepSize * (recorded[index][k][offset] - delta[offset]) * g[offset]
        }
      }
    }
    var space = ConvNetWorkspace<Double>(network: network, batchCapacity: 6)
    network.forward(
      parameters: student, input: lastBatch.images, batch: 6, through: representation, workspace: &space)
    return FeatureMatchingLoss.loss(
      student: space.output(representation, network: network), teacher: teacherFeatures[...],
      scale: settings.lossScale,
      huber: settings.huber, gradient: nil)
  }
  #expect(abs(loss(meta) - last.loss) < 1e-12, "the replay reproduces the step's loss")
  var worst = 0.0
  var largest = 0.0
  for l in meta.indices {
    for k in meta[l].indices {
      var plus = meta
      plus[l][k] += 1e-6
      var minus = meta
      minus[l][k] -= 1e-6
      let numeric = (loss(plus) - loss(minus)) / 2e-6
      let analytic = last.metaGradient[l][k]
      largest = max(largest, abs(analytic))
      worst = max(worst, abs(numeric - analytic) / max(abs(numeric) + abs(analytic), 1e-4))
    }
  }
  #expect(largest > 1e-3, "the meta-gradient is not trivially zero")
  #expect(worst < 1e-5, "worst relative error \(worst)")
}

@Test func metaGradient_replaysTheWindow_asCentralDifferencesOfTheFeatureLoss() {
  checkReplay(tinyNetwork, expectedSteered: [0, 3])
}

/// conv → GN → ReLU, then a block whose second convolution reaches its ReLU through GroupNorm and
/// the residual add, then global average pooling: the ResNet's shape in small.
private let tinyResidualNetwork: ConvNet = {
  do {
    return try ConvNet(
      input: TensorShape(channels: 1, height: 8, width: 8),
      layers: [
        .convolution(channels: 2, kernel: 3, padding: 1), .groupNorm(groups: 1), .relu, .residualStart,
        .convolution(channels: 4, kernel: 3, stride: 2, padding: 1), .groupNorm(groups: 2), .relu,
        .convolution(channels: 4, kernel: 3, padding: 1), .groupNorm(groups: 2), .residualAdd, .relu,
        .globalAveragePool, .dense(outputs: 4),
      ])
  } catch {
    fatalError("the tiny residual network: \(error)")
  }
}()

@Test func metaGradient_replaysTheWindow_throughGroupNormAndAResidualBlock() {
  // Steered: the three convolutions (GroupNorm's γ and β learn by plain SGD).
  checkReplay(tinyResidualNetwork, expectedSteered: [0, 4, 7])
  #expect(MetaLearnerInputs.postLayer(network: tinyResidualNetwork, layer: 7) == 10)
  #expect(MetaLearnerInputs.postLayer(network: tinyResidualNetwork, layer: 1) == nil)
}

@Test func metaGradient_replaysTheWindow_withGroupNormMetaLearners() {
  // The three convolutions, then the three GroupNorm layers' meta-learners of γ and β.
  checkReplay(tinyResidualNetwork, expectedSteered: [0, 4, 7, 1, 5, 8], groupNormRule: .meta)
}

@Test func groupNormMetaLearners_seeEachChannelsScaleShiftAndGradients_andStartAsPlainSGD() {
  var settings = TeacherGuidedSettings()
  settings.hidden = 3
  settings.lstmLayers = 2
  settings.groupNormHidden = 2
  let network = tinyResidualNetwork
  var plain = TeacherGuidedStep<Double>(network: network, settings: settings, batchCapacity: 6)
  settings.groupNormRule = .meta
  var steered = TeacherGuidedStep<Double>(network: network, settings: settings, batchCapacity: 6)
  // GroupNorm layer 5 (4 channels): δ row c scales [γ_c, β_c].
  let range = network.parameterRanges[5]!
  #expect(steered.targets[4] == zip(range.weights, range.biases).flatMap { [$0, $1] })
  #expect(steered.shapes[4].inputs == 4 && steered.shapes[4].outputs == 2 && steered.shapes[4].hidden == 2)
  // The weight layers keep their meta-learners and initial draws.
  #expect(Array(steered.initialMetaParameters(seed: 3).prefix(3)) == plain.initialMetaParameters(seed: 3))
  var random = RandomStream(rootSeed: 4, stream: "groupnorm-inputs")
  let parameters = (0..<network.parameterCount).map { _ in 2 * random.uniformDouble() - 1 }
  let gradient = (0..<network.parameterCount).map { _ in 2 * random.uniformDouble() - 1 }
  let z = MetaLearnerInputs.makeGroupNorm(
    network: network, layer: 5, parameters: parameters, gradient: gradient)
  let all = range.weights.lowerBound..<range.biases.upperBound
  let pRMS = (all.map { parameters[$0] * parameters[$0] }.reduce(0, +) / 8).squareRoot()
  let gRMS = (all.map { gradient[$0] * gradient[$0] }.reduce(0, +) / 8).squareRoot()
  for c in 0..<4 {
    let (gamma, beta) = (range.weights.lowerBound + c, range.biases.lowerBound + c)
    let expected = [
      parameters[gamma] / pRMS, parameters[beta] / pRMS, gradient[gamma] / gRMS, gradient[beta] / gRMS,
    ]
    #expect(zip(z[(4 * c)..<(4 * c + 4)], expected).allSatisfy { abs($0 - $1) < 1e-12 }, "channel \(c)")
  }
  // Untrained meta-learners give δ = s·tanh(1) = 1: the first step is plain SGD's, up to rounding,
  // and the GroupNorm meta-learners' δ is part of the step's output.
  var random2 = RandomStream(rootSeed: 8, stream: "groupnorm-step")
  let taskB = batch(&random2, count: 3)
  let initial: [Double] = network.initialParameters(seed: 5)
  var plainEpisode = TeacherGuidedStep<Double>.Episode(parameters: initial, step: plain)
  var steeredEpisode = TeacherGuidedStep<Double>.Episode(parameters: initial, step: steered)
  plain.studentStep(episode: &plainEpisode, meta: plain.initialMetaParameters(seed: 3), taskB: taskB)
  steered.studentStep(episode: &steeredEpisode, meta: steered.initialMetaParameters(seed: 3), taskB: taskB)
  #expect(steeredEpisode.lastDeltas.count == 6 && steeredEpisode.lastDeltas[4].count == 8)
  #expect(steeredEpisode.lastDeltas[3...].allSatisfy { $0.allSatisfy { abs($0 - 1) < 1e-12 } })
  #expect(zip(plainEpisode.student, steeredEpisode.student).allSatisfy { abs($0 - $1) < 1e-12 })
}

/// Random images in [0, 1] for the tiny network, labels in `classes`.
private func tinyTask(count: Int, classes: Range<Int32>, seed: UInt64) -> TeacherTaskImages {
  var random = RandomStream(rootSeed: seed, stream: "tiny-task")
  let labels = (0..<count).map { _ in classes.lowerBound + Int32(random.uniformInt(below: classes.count)) }
  // Each class brightens its own band of rows, so the tasks are learnable.
  var images = [Float](repeating: 0, count: count * 64)
  for n in 0..<count {
    for k in 0..<64 {
      let band = Int(labels[n]) * 2 == k / 8 || Int(labels[n]) * 2 + 1 == k / 8
      images[n * 64 + k] = Float(random.uniformDouble()) * 0.3 + (band ? 0.7 : 0)
    }
  }
  return TeacherTaskImages(images: images, labels: labels, pixelsPerImage: 64)
}

@Test func metaTraining_inSegments_isBitIdenticalToOneRun_andEndsEveryEpisode() {
  var settings = TeacherMetaTrainingSettings()
  settings.step.hidden = 3
  settings.step.lstmLayers = 2
  settings.episodes = 3
  settings.maxSteps = 7
  settings.batchA = 4
  settings.batchB = 4
  settings.windowStart = 2
  settings.levelEpisodes = 2
  settings.metaLearningRate = 0.01
  let taskA = tinyTask(count: 40, classes: 0..<2, seed: 1)
  let taskB = tinyTask(count: 40, classes: 2..<4, seed: 2)
  let initial: [Float] = tinyNetwork.initialParameters(seed: 6)
  func run(segment: Int) -> (TeacherMetaTrainingState, Int) {
    var step = TeacherGuidedStep<Float>(network: tinyNetwork, settings: settings.step, batchCapacity: 8)
    var state = TeacherMetaTrainingState(step: step, settings: settings, seed: 9)
    var segments = 0
    while !state.isFinished {
      TeacherMetaTraining.train(
        &state, step: &step, settings: settings, pool: [initial], taskA: taskA, taskB: taskB, seed: 9,
        maxInnerSteps: segment)
      segments += 1
    }
    return (state, segments)
  }
  let (whole, one) = run(segment: 0)
  let (chained, many) = run(segment: 2)
  #expect(one == 1 && many > 3)
  #expect(whole == chained)
  #expect(whole.episodeSteps.count == 3 && whole.innerSteps == Int(whole.episodeSteps.reduce(0, +)))
  #expect(whole.episodeFinalLoss.allSatisfy { $0.isFinite })
  let untrained = TeacherGuidedStep<Float>(network: tinyNetwork, settings: settings.step, batchCapacity: 8)
    .initialMetaParameters(seed: 9)
  #expect(whole.meta != untrained)
}

@Test func metaTraining_overAPool_startsEachEpisodeFromTheDrawnMember_inSegmentsToo() {
  var settings = TeacherMetaTrainingSettings()
  settings.step.hidden = 3
  settings.step.lstmLayers = 1
  settings.episodes = 6
  settings.maxSteps = 4
  settings.batchA = 4
  settings.batchB = 4
  settings.windowStart = 2
  settings.metaLearningRate = 0.01
  let taskA = tinyTask(count: 40, classes: 0..<2, seed: 1)
  let taskB = tinyTask(count: 40, classes: 2..<4, seed: 2)
  let first: [Float] = tinyNetwork.initialParameters(seed: 6)
  let second: [Float] = tinyNetwork.initialParameters(seed: 7)
  func run(_ pool: [[Float]], segment: Int = 0) -> TeacherMetaTrainingState {
    var step = TeacherGuidedStep<Float>(network: tinyNetwork, settings: settings.step, batchCapacity: 8)
    var state = TeacherMetaTrainingState(step: step, settings: settings, seed: 9)
    while !state.isFinished {
      TeacherMetaTraining.train(
        &state, step: &step, settings: settings, pool: pool, taskA: taskA, taskB: taskB, seed: 9,
        maxInnerSteps: segment)
    }
    return state
  }
  // The draw is a function of (seed, episode) and uses both members over six episodes.
  let members = (0..<6).map { TeacherMetaTraining.poolMember(episode: $0, count: 2, seed: 9) }
  #expect(Set(members) == [0, 1], "\(members)")
  #expect((0..<6).allSatisfy { TeacherMetaTraining.poolMember(episode: $0, count: 1, seed: 9) == 0 })
  // A pool of one network twice is that network: the draw only picks which copy.
  #expect(run([first, first]) == run([first]))
  // A pool of two differs from either alone, and is the same in segments.
  let pool = run([first, second])
  #expect(pool != run([first]) && pool != run([second]))
  #expect(run([first, second], segment: 2) == pool)
}

@Test func choose_drawsDistinctSortedIndices_eachAboutEquallyOften() {
  var counts = [Int](repeating: 0, count: 10)
  for episode in 0..<2000 {
    var random = RandomStream(rootSeed: 3, stream: "choose", indices: [UInt64(episode)])
    let drawn = random.choose(4, below: 10)
    #expect(
      drawn.count == 4 && drawn == drawn.sorted() && Set(drawn).count == 4 && drawn.allSatisfy { $0 < 10 })
    for k in drawn { counts[k] += 1 }
  }
  // Each index is drawn 800 times in expectation (sd ≈ 22).
  #expect(counts.allSatisfy { abs($0 - 800) < 110 }, "\(counts)")
  var random = RandomStream(seed: 1)
  #expect(random.choose(5, below: 5) == [0, 1, 2, 3, 4] && random.choose(0, below: 3).isEmpty)
}

@Test func drawHeadRows_redrawsOnlyThoseRows_withinTheInitBound_andMakesTheUnionHead() throws {
  let parameters: [Float] = tinyNetwork.initialParameters(seed: 2)
  var redrawn = parameters
  var random = RandomStream(rootSeed: 5, stream: "headB", indices: [7])
  tinyNetwork.drawHeadRows(2..<4, of: &redrawn, random: &random)
  let head = tinyNetwork.parameterRanges[tinyNetwork.layers.count - 1]!
  let rows = (head.weights.lowerBound + 2 * head.rowLength)..<head.weights.upperBound
  let biases = (head.biases.lowerBound + 2)..<head.biases.upperBound
  let bound = 1 / Float(head.rowLength).squareRoot()
  for k in parameters.indices {
    if rows.contains(k) || biases.contains(k) {
      #expect(redrawn[k] != parameters[k] && abs(redrawn[k]) <= bound)
    } else {
      #expect(redrawn[k] == parameters[k])
    }
  }
  // The union head's new rows are those rows of the widened head, drawn from stream "headB".
  let narrow = try ConvNet(
    input: tinyNetwork.input, layers: tinyNetwork.layers.dropLast() + [.dense(outputs: 2)])
  let (wide, union) = try narrow.withUnionHead(
    parameters: narrow.initialParameters(seed: 2), newClasses: 2, seed: 5)
  var again = union
  var plain = RandomStream(rootSeed: 5, stream: "headB")
  wide.drawHeadRows(2..<4, of: &again, random: &plain)
  #expect(again == union)
}

@Test func metaTraining_drawingTaskBClassesPerEpisode_usesThoseClassesOnly_andChainsBitIdentically() {
  var settings = TeacherMetaTrainingSettings()
  settings.step.hidden = 3
  settings.step.lstmLayers = 1
  settings.episodes = 5
  settings.maxSteps = 4
  settings.batchA = 4
  settings.batchB = 4
  settings.windowStart = 2
  settings.metaLearningRate = 0.01
  let taskA = tinyTask(count: 40, classes: 0..<2, seed: 1)
  // Task B holds five classes (labels 2 ..< 7); each episode learns two of them.
  let taskB = tinyTask(count: 100, classes: 2..<7, seed: 2)
  let draws = (0..<5).map { TeacherMetaTraining.episodeClasses(episode: $0, count: 2, of: 5, seed: 9) }
  #expect(
    draws.allSatisfy { $0.count == 2 && $0[0] < $0[1] && $0[1] < 5 } && Set(draws).count > 1, "\(draws)")
  #expect(draws == (0..<5).map { TeacherMetaTraining.episodeClasses(episode: $0, count: 2, of: 5, seed: 9) })
  let episodeB = taskB.restricted(to: draws[0], offset: 2)
  let wanted = Set(draws[0].map { Int32(2 + $0) })
  #expect(episodeB.count == taskB.labels.filter(wanted.contains).count && episodeB.count > 0)
  #expect(Set(episodeB.labels) == [2, 3])
  let first = taskB.labels.firstIndex(of: Int32(2 + draws[0][1]))!
  let moved = episodeB.labels.firstIndex(of: 3)!
  let movedPixels = Array(episodeB.images[(moved * 64)..<(moved * 64 + 64)])
  let firstPixels = Array(taskB.images[(first * 64)..<(first * 64 + 64)])
  #expect(movedPixels == firstPixels)

  let initial: [Float] = tinyNetwork.initialParameters(seed: 6)
  func run(drawn: Int, segment: Int = 0) -> TeacherMetaTrainingState {
    var drawing = settings
    drawing.classesPerEpisode = drawn
    var step = TeacherGuidedStep<Float>(network: tinyNetwork, settings: drawing.step, batchCapacity: 8)
    var state = TeacherMetaTrainingState(step: step, settings: drawing, seed: 9)
    while !state.isFinished {
      TeacherMetaTraining.train(
        &state, step: &step, settings: drawing, pool: [initial], taskA: taskA,
        taskB: drawn > 0 ? taskB : taskB.restricted(to: [0, 1], offset: 2), taskBClasses: 5, seed: 9,
        maxInnerSteps: segment)
    }
    return state
  }
  let drawing = run(drawn: 2)
  #expect(drawing == run(drawn: 2, segment: 2))
  #expect(drawing != run(drawn: 0) && drawing.episodeSteps.count == 5)
}
