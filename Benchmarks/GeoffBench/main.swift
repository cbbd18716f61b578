// Times one full GEOFF run per learner variant and prints µs per example.
//
//     swift run -c release metasweep-bench [examples_per_task] [seed]
//
// "total" is GeoffExperiment.run (task generation, initialisation, training, recording);
// "train" is the training loop alone on a pre-generated task. Run through tools/bench/run.
import Experiments
import SweepModel
import TrainingCore

let arguments = CommandLine.arguments.dropFirst()
let examplesPerTask = arguments.first.flatMap { Int($0) } ?? 5000
let seed = arguments.dropFirst().first.flatMap { UInt64($0) } ?? 1

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

print("variant                   examples  total_us_per_example  train_us_per_example  error_task3")
let clock = ContinuousClock()
for variant in variants {
  var parameters = variant.parameters
  parameters["examples_per_task"] = .int(examplesPerTask)
  parameters["tail_examples"] = .int(min(500, examplesPerTask))
  do {
    let config = try GeoffConfig(parameters: parameters)
    let examples = config.totalExamples
    var outcome = Outcome()
    let total = try clock.measure { outcome = try GeoffExperiment.run(parameters: parameters, seed: seed) }
    let settings = config.runSettings
    let task = GeoffTask(settings: settings.task, seed: seed)
    let learner = Learner(settings: settings.learner, seed: seed)
    var record = GeoffRunRecord()
    let train = clock.measure { record = GeoffRun.run(settings: settings, task: task, learner: learner) }
    precondition(record.stageError.last == outcome.metric("error_task3"), "timed runs disagree")
    let name = variant.name + String(repeating: " ", count: max(0, 24 - variant.name.count))
    print(
      "\(name)  \(examples)  \(microseconds(total) / Double(examples))  \(microseconds(train) / Double(examples))  \(outcome.metric("error_task3") ?? .nan)"
    )
  } catch {
    print("\(variant.name): \(error)")
  }
}
