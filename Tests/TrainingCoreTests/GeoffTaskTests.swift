import Testing
import TrainingCore

private func task(seed: UInt64, examples: Int = 2000, stages: Int = 3) -> GeoffTask {
  var settings = GeoffTaskSettings()
  settings.examplesPerTask = examples
  settings.stages = stages
  return GeoffTask(settings: settings, seed: seed)
}

@Test func thresholds_areBetaTimesInputsPlusBias_minusNegativeCount() {
  let t = task(seed: 1, examples: 1).target
  #expect(t.inputWeights.count == 21 * 1001)
  #expect(t.inputWeights.allSatisfy { $0 == 1 || $0 == -1 })
  for j in 0..<1000 {
    let negatives = (0...20).filter { t.inputWeights[$0 * 1001 + j] == -1 }.count
    #expect(t.thresholds[j] == 0.6 * 21 - Double(negatives))
  }
}

@Test func features_followTheStrictThresholdDefinition_withBiasFeatureOne() {
  let t = task(seed: 2, examples: 1).target
  var random = RandomStream(seed: 3)
  for _ in 0..<50 {
    let x = UInt32(random.fairBits(count: 20))
    let phi = t.features(of: x)
    #expect(phi.count == 1001)
    #expect(phi[1000])
    for j in 0..<1000 {
      var dot = Int(t.inputWeights[20 * 1001 + j])
      for i in 0..<20 where (x >> UInt32(i)) & 1 == 1 { dot += Int(t.inputWeights[i * 1001 + j]) }
      #expect(phi[j] == (Double(dot) > t.thresholds[j]))
    }
  }
}

@Test func targets_areFeaturesDotWeights_plusUnitNoise() {
  let generated = task(seed: 4, examples: 3000)
  let data = generated.taskData[0]
  var residuals: [Double] = []
  for k in 0..<3000 {
    let phi = generated.target.features(of: data.inputs[k])
    let clean = (0...1000).reduce(0) { $0 + (phi[$1] ? Int(generated.outputWeights[0][$1]) : 0) }
    #expect(clean == generated.target.output(data.inputs[k], outputWeights: generated.outputWeights[0]))
    residuals.append(data.targets[k] - Double(clean))
  }
  let mean = residuals.reduce(0, +) / 3000
  let variance = residuals.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / 2999
  #expect(abs(mean) < 0.07)
  #expect(abs(variance - 1) < 0.08)
}

@Test func firingRate_isNearAnalyticValue0_1917() {
  var fired = 0
  var total = 0
  for seed: UInt64 in 0..<3 {
    let generated = task(seed: seed, examples: 400)
    for x in generated.taskData[0].inputs {
      fired += generated.target.features(of: x).prefix(1000).filter { $0 }.count
      total += 1000
    }
  }
  #expect(abs(Double(fired) / Double(total) - 0.1917) < 0.006)
}

@Test func switches_redrawHalfTheOutputWeights_changingAboutAThird() {
  var changed = 0
  var switches = 0
  for seed: UInt64 in 0..<10 {
    let w = task(seed: seed, examples: 1).outputWeights
    #expect(w.count == 3)
    for (a, b) in [(0, 1), (1, 2)] {
      changed += zip(w[a], w[b]).filter { $0 != $1 }.count
      switches += 1
    }
    #expect(w[0].allSatisfy { $0 >= -1 && $0 <= 1 })
  }
  // Expected 500·2/3 = 333.3 per switch; SD of the mean of 20 switches ≈ 2.4.
  #expect(abs(Double(changed) / Double(switches) - 333.3) < 12)
}

@Test func learnerInputs_areTwentyFairBits_andTasksDrawFreshData() {
  let generated = task(seed: 5, examples: 4000)
  var ones = 0
  for x in generated.taskData[0].inputs {
    #expect(x < 1 << 20)
    ones += x.nonzeroBitCount
  }
  #expect(abs(Double(ones) / 80_000 - 0.5) < 0.01)
  #expect(generated.taskData[0].inputs != generated.taskData[1].inputs)
  #expect(generated.taskData[1].targets != generated.taskData[2].targets)
}

@Test func sixStages_replayTheFirstThreeExactly() {
  let generated = task(seed: 6, examples: 50, stages: 6)
  for stage in 0..<3 { #expect(generated.data(stage: stage + 3) == generated.data(stage: stage)) }
  // Replay does not change the first three tasks' draws.
  #expect(task(seed: 6, examples: 50, stages: 3).taskData == generated.taskData)
}

/// The grouped (four inputs at a time) pre-activations agree with the plain dot product for input
/// counts that are not multiples of four, and ignore bits above the inputs.
@Test(arguments: [1, 7, 20, 32])
func output_matchesDotProduct_forAnyInputCount(inputs: Int) {
  var random = RandomStream(rootSeed: 11, stream: "shape")
  let target = GeoffTarget(inputs: inputs, features: 37, beta: 0.6, random: &random)
  let weights = (0...37).map { _ in Int8(random.uniformInt(below: 255) - 127) }
  for _ in 0..<200 {
    let x = UInt32(truncatingIfNeeded: random.next())
    var expected = Int(weights[37])
    for j in 0..<37 {
      var dot = Int(target.inputWeights[inputs * 38 + j])
      for i in 0..<inputs where (x >> UInt32(i)) & 1 == 1 { dot += Int(target.inputWeights[i * 38 + j]) }
      if Double(dot) > target.thresholds[j] { expected += Int(weights[j]) }
    }
    #expect(target.output(x, outputWeights: weights) == expected)
  }
}
