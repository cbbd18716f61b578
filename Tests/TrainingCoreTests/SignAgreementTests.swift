import Testing
import TrainingCore

/// Random images of `pixels` pixels in [0, 1] whose class brightens its own third of the pixels.
private func tinyTasks(tasks: Int, seed: UInt64 = 4, permuteFirst: Bool = false) -> PermutedTasks {
  let pixels = 12
  var random = RandomStream(rootSeed: seed, stream: "tiny-images")
  func images(_ count: Int) -> ([Float], [Int32]) {
    let labels = (0..<count).map { _ in Int32(random.uniformInt(below: 3)) }
    var out = [Float](repeating: 0, count: count * pixels)
    for n in 0..<count {
      for k in 0..<pixels {
        out[n * pixels + k] = Float(random.uniformDouble()) * 0.5 + (k / 4 == Int(labels[n]) ? 0.5 : 0)
      }
    }
    return (out, labels)
  }
  let (train, trainLabels) = images(90)
  let (test, testLabels) = images(30)
  return PermutedTasks(
    trainImages: train, trainLabels: trainLabels, testImages: test, testLabels: testLabels, pixels: pixels,
    classes: 3, tasks: tasks, seed: seed, permuteFirst: permuteFirst)
}

private func tinySettings(_ method: ContinualMethod) -> ContinualSettings {
  var settings = ContinualSettings()
  settings.method = method
  settings.iterations = 12
  settings.batch = 8
  settings.learningRate = 0.2
  settings.hidden = [6]
  settings.predictorHidden = [4, 4]
  settings.chunk = 10
  settings.evaluateEvery = 4
  settings.testImages = 30
  settings.distillSteps = 5
  settings.distillGrid = 16
  settings.fisherImages = 10
  settings.oracleImages = 8
  settings.ewcWeight = 10
  return settings
}

@Test func predictorRegressionGradient_matchesCentralDifferences_inDouble() throws {
  var predictor = try CoordinatePredictor<Double>(hidden: [5, 4], chunk: 7)
  let phi = predictor.initialParameters(seed: 3, index: 1)
  var random = RandomStream(seed: 8)
  let inputs = (0..<23).map { _ in 2 * random.uniformDouble() - 1 }
  let targets = (0..<23).map { _ in random.normal() }
  let (loss, gradient) = predictor.regression(phi, inputs: inputs, targets: targets)
  var predictions = [Double](repeating: 0, count: 23)
  predictor.predict(phi, inputs: inputs, into: &predictions)
  let direct = zip(predictions, targets).map { ($0 - $1) * ($0 - $1) }.reduce(0, +) / 23
  #expect(abs(loss - direct) < 1e-12)
  var worst = 0.0
  for k in phi.indices {
    var up = phi
    var down = phi
    up[k] += 1e-6
    down[k] -= 1e-6
    let numeric =
      (predictor.regression(up, inputs: inputs, targets: targets).loss
        - predictor.regression(down, inputs: inputs, targets: targets).loss) / 2e-6
    worst = max(worst, abs(numeric - gradient[k]) / max(1e-3, abs(numeric) + abs(gradient[k])))
  }
  #expect(worst < 1e-6, "worst relative error \(worst)")
}

@Test func predictorPasses_giveTheSameBits_onOneOrTwoThreads() throws {
  var one = try CoordinatePredictor<Float>(hidden: [32, 32], chunk: 100, threads: 1)
  var two = try CoordinatePredictor<Float>(hidden: [32, 32], chunk: 100, threads: 2)
  let phi = one.initialParameters(seed: 1, index: 0)
  var random = RandomStream(seed: 2)
  let inputs = (0..<1050).map { _ in Float(random.normal() * 0.1) }
  let targets = (0..<1050).map { _ in Float(random.normal()) }
  var a = [Float](repeating: 0, count: 1050)
  var b = a
  one.predict(phi, inputs: inputs, scale: 0.5, into: &a)
  two.predict(phi, inputs: inputs, scale: 0.5, into: &b)
  #expect(a == b && a.contains { $0 != 0 })
  one.predict(phi, inputs: inputs, scale: 2, into: &a, accumulate: true)
  two.predict(phi, inputs: inputs, scale: 2, into: &b, accumulate: true)
  #expect(a == b)
  let (lossOne, gradientOne) = one.regression(phi, inputs: inputs, targets: targets)
  let (lossTwo, gradientTwo) = two.regression(phi, inputs: inputs, targets: targets)
  #expect(lossOne == lossTwo && gradientOne == gradientTwo)
}

@Test func signRule_zeroesExactlyTheDisagreeingCoordinates_andAZeroProductDisagrees() {
  let tiny: Float = 1e-30
  let gradient: [Float] = [1, -2, 3, -4, 0, 5, tiny, -tiny, 0.5]
  let prediction: [Float] = [2, -1, -3, 4, 1, 0, tiny, -tiny, .leastNonzeroMagnitude]
  var delta = [Float](repeating: 9, count: gradient.count)
  let zeroed = SignAgreement.apply(gradient: gradient, prediction: prediction, into: &delta)
  // Agreeing signs keep g (even where g·p̄ underflows to 0); opposite signs and zeros give 0.
  #expect(delta == [1, -2, 0, 0, 0, 0, tiny, -tiny, 0.5])
  #expect(zeroed == 4)
}

@Test func permutations_firstIsTheIdentity_othersAreDrawnFromTheSeed() {
  let tasks = tinyTasks(tasks: 3)
  #expect(tasks.permutations[0] == Array(0..<12))
  #expect(tasks.permutations.dropFirst().allSatisfy { $0.sorted() == Array(0..<12) && $0 != Array(0..<12) })
  #expect(tasks.permutations[1] != tasks.permutations[2])
  #expect(tinyTasks(tasks: 3, permuteFirst: true).permutations[0] != Array(0..<12))
  #expect(
    PermutedTasks.permutation(task: 2, pixels: 12, seed: 4, permuteFirst: false) == tasks.permutations[2])
  // Task 1's image is the original's pixels in π_1's order.
  let batch = tasks.trainBatch(task: 1, indices: [5])
  #expect(batch.images == tasks.permutations[1].map { tasks.trainImages[5 * 12 + $0] })
}

@Test func aOneTaskRun_isPlainSGD_bitForBit_whateverTheMethod() throws {
  let tasks = tinyTasks(tasks: 1)
  for method in ContinualMethod.allCases {
    var run = try ContinualRun(settings: tinySettings(method), tasks: tasks, seed: 5)
    var state = run.initialState()
    var classifier = ConvNetClassifier(
      network: run.network, parameters: state.theta, seed: 0,
      optimizer: MomentumSGD(learningRate: 0.2, momentum: 0), batchCapacity: 8)
    for n in 0..<12 {
      let batch = tasks.drawnBatch(task: 0, count: 8, seed: 5, stream: "data", indices: [0, UInt64(n)])
      batch.images.withUnsafeBufferPointer { images in
        batch.labels.withUnsafeBufferPointer { labels in _ = classifier.step(images: images, labels: labels) }
      }
    }
    run.train(&state)
    #expect(run.isFinished(state) && state.theta == classifier.parameters, "\(method)")
    #expect(state.accuracy.count == 4 && state.zeroedFraction.allSatisfy { $0 == 0 })
  }
}

@Test func everyMethod_inSegments_isBitIdenticalToOneRun_andStopsAtTaskBoundaries() throws {
  let tasks = tinyTasks(tasks: 3)
  var finals: [ContinualMethod: ContinualState] = [:]
  for method in ContinualMethod.allCases {
    var run = try ContinualRun(settings: tinySettings(method), tasks: tasks, seed: 5)
    var whole = run.initialState()
    var segments = 0
    while !run.isFinished(whole) {
      run.train(&whole)
      segments += 1
    }
    #expect(segments == 3, "a segment ends at each task boundary")
    // Each segment starts in a fresh run from the last one's checkpoint bytes.
    var checkpoint = run.initialState().binaryEncoded()
    var chained = run.initialState()
    while !run.isFinished(chained) {
      var fresh = try ContinualRun(settings: tinySettings(method), tasks: tasks, seed: 5)
      chained = try ContinualState(binary: checkpoint, run: fresh)
      fresh.train(&chained, maxIterations: 5)
      checkpoint = chained.binaryEncoded()
    }
    #expect(whole.binaryEncoded() == checkpoint, "\(method)")
    #expect(whole.accuracy.count == 10 && whole.accuracy.allSatisfy { $0.count == 3 })
    finals[method] = whole
  }
  // The methods differ after the first task, and the rule zeroes coordinates on later tasks.
  let sgd = try #require(finals[.sgd])
  for method in ContinualMethod.allCases where method != .sgd {
    #expect(finals[method]!.theta != sgd.theta, "\(method)")
  }
  for method in [ContinualMethod.metaSign, .metaSignDistill, .oracleSign] {
    let zeroed = finals[method]!.zeroedFraction
    #expect(zeroed.prefix(3).allSatisfy { $0 == 0 } && zeroed.dropFirst(3).allSatisfy { $0 > 0 }, "\(zeroed)")
  }
  let meta = finals[.metaSign]!
  #expect(meta.frozen.count == 3 && meta.frozenScales.allSatisfy { $0 > 0 })
  #expect(
    meta.signAgreement.prefix(3).allSatisfy(\.isNaN) && meta.signAgreement.dropFirst(3).allSatisfy { $0 > 0 })
  let distilled = finals[.metaSignDistill]!
  #expect(distilled.distilledTasks == 3 && distilled.distilled != distilled.frozen[0])
  #expect(finals[.ewc]!.fishers.count == 3 && finals[.ewc]!.fishers[0].contains { $0 > 0 })
}

@Test func predictorRegression_onDrawnCoordinates_isItsOwnRun_andChainsBitIdentically() throws {
  let tasks = tinyTasks(tasks: 2)
  var settings = tinySettings(.metaSign)
  settings.predictorCoordinates = 20
  func run(segment: Int) throws -> ContinualState {
    var run = try ContinualRun(settings: settings, tasks: tasks, seed: 5)
    var state = run.initialState()
    while !run.isFinished(state) { run.train(&state, maxIterations: segment) }
    return state
  }
  let drawn = try run(segment: 0)
  #expect(drawn.binaryEncoded() == (try run(segment: 7)).binaryEncoded())
  var all = try ContinualRun(settings: tinySettings(.metaSign), tasks: tasks, seed: 5)
  var allState = all.initialState()
  while !all.isFinished(allState) { all.train(&allState) }
  // The first task's θ is the same (the predictor does not steer it); its predictor is not.
  #expect(drawn.frozen[0] != allState.frozen[0] && drawn.accuracy[3] == allState.accuracy[3])
}
