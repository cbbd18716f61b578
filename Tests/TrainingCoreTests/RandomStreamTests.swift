import Testing
import TrainingCore

@Test func splitMix64_matchesPublishedFirstOutputs() {
  var generator = SplitMix64(seed: 0)
  #expect(generator.next() == 0xE220_A839_7B1D_CDAF)
  #expect(generator.next() == 0x6E78_9E6A_A1B9_65F4)
}

@Test func stream_sameSeedAndName_reproducesEveryBit() {
  var a = RandomStream(rootSeed: 42, stream: "task")
  var b = RandomStream(rootSeed: 42, stream: "task")
  for _ in 0..<1000 { #expect(a.next() == b.next()) }
}

@Test func streams_withDifferentNamesOrSeeds_areUncorrelated() {
  var task = RandomStream(rootSeed: 7, stream: "task")
  var initial = RandomStream(rootSeed: 7, stream: "init")
  var otherSeed = RandomStream(rootSeed: 8, stream: "task")
  let n = 20_000
  var (sumA, sumB, sumC, sumAB, sumAC, sumAA) = (0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
  var equal = 0
  for _ in 0..<n {
    let a = task.uniformDouble() - 0.5
    let b = initial.uniformDouble() - 0.5
    let c = otherSeed.uniformDouble() - 0.5
    if a == b || a == c { equal += 1 }
    sumA += a
    sumB += b
    sumC += c
    sumAB += a * b
    sumAC += a * c
    sumAA += a * a
  }
  #expect(equal == 0)
  // Correlation of independent uniforms has SD 1/√n ≈ 0.007.
  let variance = sumAA / Double(n)
  #expect(abs(sumAB / Double(n) / variance) < 0.03)
  #expect(abs(sumAC / Double(n) / variance) < 0.03)
  #expect(abs(sumB / Double(n)) < 0.01 && abs(sumC / Double(n)) < 0.01)
}

@Test func uniformSamplers_stayInRange_withMeanOneHalf() {
  var random = RandomStream(seed: 1)
  var sumD = 0.0
  var sumF: Float = 0
  let n = 50_000
  for _ in 0..<n {
    let d = random.uniformDouble()
    let f = random.uniformFloat()
    #expect(d >= 0 && d < 1)
    #expect(f >= 0 && f < 1)
    sumD += d
    sumF += f
  }
  #expect(abs(sumD / Double(n) - 0.5) < 0.005)
  #expect(abs(sumF / Float(n) - 0.5) < 0.005)
}

@Test func uniformInt_isUnbiasedOverSmallRange() {
  var random = RandomStream(seed: 2)
  var counts = [0, 0, 0]
  let n = 60_000
  for _ in 0..<n { counts[random.uniformInt(below: 3)] += 1 }
  // Each count is Binomial(n, 1/3): SD ≈ 115.
  for c in counts { #expect(abs(c - n / 3) < 600) }
  for _ in 0..<1000 { #expect(random.uniformInt(below: 1) == 0) }
}

@Test func bernoulliAndFairBits_haveTheirProbabilities() {
  var random = RandomStream(seed: 3)
  let n = 40_000
  var hits = 0
  var bitCounts = [Int](repeating: 0, count: 20)
  for _ in 0..<n {
    if random.bernoulli(0.25) { hits += 1 }
    let bits = random.fairBits(count: 20)
    #expect(bits < 1 << 20)
    for i in 0..<20 where (bits >> UInt64(i)) & 1 == 1 { bitCounts[i] += 1 }
  }
  #expect(abs(Double(hits) / Double(n) - 0.25) < 0.01)
  for c in bitCounts { #expect(abs(Double(c) / Double(n) - 0.5) < 0.015) }
}

@Test func normal_hasMeanZeroVarianceOne_andSymmetricTails() {
  var random = RandomStream(seed: 4)
  let n = 100_000
  var sum = 0.0
  var sumSquares = 0.0
  var beyondTwo = 0
  for _ in 0..<n {
    let z = random.normal()
    sum += z
    sumSquares += z * z
    if abs(z) > 2 { beyondTwo += 1 }
  }
  let mean = sum / Double(n)
  #expect(abs(mean) < 0.015)
  #expect(abs(sumSquares / Double(n) - mean * mean - 1) < 0.02)
  // P(|Z| > 2) = 0.0455.
  #expect(abs(Double(beyondTwo) / Double(n) - 0.0455) < 0.003)
}

@Test func shuffle_isAPermutation_andMovesEveryPositionUniformly() {
  var random = RandomStream(seed: 5)
  var firstPositionCounts = [Int](repeating: 0, count: 5)
  for _ in 0..<10_000 {
    var values = [0, 1, 2, 3, 4]
    random.shuffle(&values)
    #expect(values.sorted() == [0, 1, 2, 3, 4])
    firstPositionCounts[values[0]] += 1
  }
  for c in firstPositionCounts { #expect(abs(c - 2000) < 200) }
}
