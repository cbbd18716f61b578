// Times one full GEOFF run per learner variant and prints µs per example.
//
//     swift run -c release metasweep-bench [examples_per_task] [seed] [repeats] [variant ...]
//
// "total" is GeoffExperiment.run (task generation, initialisation, training, recording);
// "train" is the training loop alone on a pre-generated task. Each is the fastest of `repeats`
// timings (default 3; the machine is shared, and the minimum is the least disturbed). Naming
// variants times only those. Run through tools/bench/run.
import Experiments
import SweepModel
import TrainingCore

let arguments = CommandLine.arguments.dropFirst()
let examplesPerTask = arguments.first.flatMap { Int($0) } ?? 5000
let seed = arguments.dropFirst().first.flatMap { UInt64($0) } ?? 1
let repeats = max(1, arguments.dropFirst(2).first.flatMap { Int($0) } ?? 3)
let selected = Set(arguments.dropFirst(3))

let variants: [(name: String, parameters: Parameters)] = [
  ("backprop", ["algorithm": .string("backprop")]),
  ("momentum", ["algorithm": .string("momentum")]),
  ("rmsprop", ["algorithm": .string("rmsprop")]),
  ("adam", ["algorithm": .string("adam")]),
  ("crossprop-eta0", ["algorithm": .string("crossprop"), "eta": .double(0)]),
  ("crossprop-eta0.5", ["algorithm": .string("crossprop"), "eta": .double(0.5)]),
  ("crossprop-approx-eta0", ["algorithm": .string("crossprop-approx"), "eta": .double(0)]),
  ("crossprop-approx-eta0.5", ["algorithm": .string("crossprop-approx"), "eta": .double(0.5)]),
]

func microseconds(_ duration: Duration) -> Double {
  Double(duration.components.seconds) * 1e6 + Double(duration.components.attoseconds) * 1e-12
}

/// FNV-1a over the bit patterns of every number of the outcome, in order: equal for bit-identical
/// results, so runs before and after a change can be compared at full length.
func fingerprint(_ outcome: Outcome) -> String {
  var hash: UInt64 = 0xCBF2_9CE4_8422_2325
  func mix(_ value: Double) {
    var bits = value.bitPattern
    for _ in 0..<8 {
      hash = (hash ^ (bits & 0xFF)) &* 0x0000_0100_0000_01B3
      bits >>= 8
    }
  }
  for metric in outcome.metrics { mix(metric.value) }
  for series in outcome.series { series.values.forEach(mix) }
  return String(hash, radix: 16)
}

print("variant                   examples  total_us_per_example  train_us_per_example  error_task3  fingerprint")
let clock = ContinuousClock()
for variant in variants where selected.isEmpty || selected.contains(variant.name) {
  var parameters = variant.parameters
  parameters["examples_per_task"] = .int(examplesPerTask)
  parameters["tail_examples"] = .int(min(500, examplesPerTask))
  do {
    let config = try GeoffConfig(parameters: parameters)
    let examples = config.totalExamples
    var outcome = Outcome()
    var total = Duration.seconds(Int64.max)
    for _ in 0..<repeats {
      total = min(total, try clock.measure { outcome = try GeoffExperiment.run(parameters: parameters, seed: seed) })
    }
    let settings = config.runSettings
    let task = GeoffTask(settings: settings.task, seed: seed)
    let learner = Learner(settings: settings.learner, seed: seed)
    var record = GeoffRunRecord()
    var train = Duration.seconds(Int64.max)
    for _ in 0..<repeats {
      train = min(train, clock.measure { record = GeoffRun.run(settings: settings, task: task, learner: learner) })
    }
    precondition(record.stageError.last == outcome.metric("error_task3"), "timed runs disagree")
    let name = variant.name + String(repeating: " ", count: max(0, 24 - variant.name.count))
    print(
      "\(name)  \(examples)  \(microseconds(total) / Double(examples))  \(microseconds(train) / Double(examples))  \(outcome.metric("error_task3") ?? .nan)  \(fingerprint(outcome))"
    )
  } catch {
    print("\(variant.name): \(error)")
  }
}
