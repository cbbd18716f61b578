import Datasets
import Experiments
import Foundation
import Journal
import SweepModel
import TrainingCore

// Times one full GEOFF run per learner variant and prints µs per example.
//
//     swift run -c release metasweep-bench [examples_per_task] [seed] [repeats] [variant ...]
//     swift run -c release metasweep-bench lstm [steps]     # LSTM meta-training steps/second only
//     swift run -c release metasweep-bench rounds [boolean|quadratic] [steps] [shards]  # rounds API, no messages
//     swift run -c release metasweep-bench journal [runs] [batch] [repeats]   # journal µs per run
//     swift run -c release metasweep-bench runkeys [keys] [repeats]   # run-key hashing µs per key
//     swift run -c release metasweep-bench classifier [steps] [repeats] [algorithm ...]   # 784-1024-10 µs/example
//     swift run -c release metasweep-bench tsne [points] [hidden] [seed] [csv]   # t-SNE seconds
//     swift run -c release metasweep-bench datasets [repeats] [folder]   # dataset load and generation ms
//     swift run -c release metasweep-bench lenet [steps] [paper|smoke ...]   # LeNet minibatch step µs
//     swift run -c release metasweep-bench teacher [steps] [window]   # multi-task-teacher inner step µs
//     swift run -c release metasweep-bench predictor [smoke|smoke-cN|paper ...] [tN ...] [repeats]   # predictor pass GFLOP/s
//
// "total" is GeoffExperiment.run (task generation, initialisation, training, recording);
// "train" is the training loop alone on a pre-generated task. Times are the thread's CPU time
// (CLOCK_THREAD_CPUTIME_ID), not wall time, so that other processes on a shared machine do not
// count, and each is the fastest of `repeats` timings (default 3). Naming variants times only
// those. Run through tools/bench/run.
#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

// The kernel `metasweep` itself would use (it starts itself again the same way: HostCPU).
if ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] == nil,
  let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
  let flags = OpenBLASCore.cpuFlags(cpuinfo: text),
  let core = OpenBLASCore.preferredCore(detected: OpenBLASCore.detected, cpuFlags: flags)
{
  setenv("OPENBLAS_CORETYPE", core, 1)
  execv("/proc/self/exe", CommandLine.unsafeArgv)
}

let arguments = CommandLine.arguments.dropFirst()

/// The Boolean smoke configuration's meta-training step (B = 32, L = 64, H = 12), timed over
/// `steps` steps with 1 and 2 threads: one line per thread count, "lstm-threads-N steps
/// steps_per_second ms_per_step final_param_checksum cpu_ms_per_step" (CPU time of all threads,
/// which a busy machine disturbs less than wall time).
func benchmarkLSTM(steps: Int) {
  let clock = ContinuousClock()
  var checksums: [UInt64] = []
  for threads in [1, 2] {
    var settings = MetaTrainingSettings()
    settings.threads = threads
    settings.validationEvery = 0
    let start = MetaTrainingState(settings: settings, seed: 1)
    // One untimed step warms caches and the thread pool.
    _ = MetaTraining.train(start, settings: settings, seed: 1, steps: 1)
    var state = start
    let cpuStart = Foundation.clock()
    let elapsed = clock.measure {
      state = MetaTraining.train(start, settings: settings, seed: 1, steps: steps)
    }
    let cpuSeconds = Double(Foundation.clock() - cpuStart) / Double(CLOCKS_PER_SEC)
    let seconds = elapsed.inSeconds
    let checksum = state.parameters.reduce(UInt64(0)) { $0 &* 31 &+ UInt64($1.bitPattern) }
    checksums.append(checksum)
    print(
      "lstm-threads-\(threads)  \(steps)  \(Double(steps) / seconds)  \(1000 * seconds / Double(steps))  \(checksum)  \(1000 * cpuSeconds / Double(steps))"
    )
  }
  precondition(checksums[0] == checksums[1], "thread counts disagree")
}

if arguments.first == "journal" {
  let rest = arguments.dropFirst().compactMap { Int($0) }
  try benchmarkJournal(
    runs: rest.first ?? 20000, batch: rest.dropFirst().first ?? 16, repeats: rest.dropFirst(2).first ?? 3)
  exit(0)
}
if arguments.first == "classifier" {
  let rest = Array(arguments.dropFirst())
  try benchmarkClassifier(
    steps: rest.first.flatMap { Int($0) } ?? 2000, repeats: rest.dropFirst().first.flatMap { Int($0) } ?? 3,
    algorithms: rest.dropFirst(2).compactMap { LearningAlgorithm(rawValue: $0) })
  exit(0)
}
if arguments.first == "runkeys" {
  let rest = arguments.dropFirst().compactMap { Int($0) }
  benchmarkRunKeys(count: rest.first ?? 100_000, repeats: rest.dropFirst().first ?? 5)
  exit(0)
}
if arguments.first == "tsne" {
  let rest = Array(arguments.dropFirst())
  benchmarkEmbedding(
    count: rest.first.flatMap { Int($0) } ?? 2500,
    hiddenUnits: rest.dropFirst().first.flatMap { Int($0) } ?? 1024,
    seed: rest.dropFirst(2).first.flatMap { UInt64($0) } ?? 1, csvPath: rest.dropFirst(3).first)
  exit(0)
}
if arguments.first == "datasets" {
  let repeats = arguments.dropFirst().first.flatMap { Int($0) } ?? 5
  let folder = arguments.dropFirst(2).first ?? DatasetSource.defaultFashionMNISTDirectory
  try benchmarkDatasets(directory: folder, repeats: max(1, repeats))
  exit(0)
}
if arguments.first == "rounds" {
  let rest = Array(arguments.dropFirst())
  try benchmarkRounds(
    configuration: rest.first ?? "boolean", steps: rest.dropFirst().first.flatMap { Int($0) } ?? 300,
    shards: rest.dropFirst(2).first.flatMap { Int($0) } ?? 2)
  exit(0)
}
if arguments.first == "lenet" {
  let rest = Array(arguments.dropFirst())
  try benchmarkConvNet(
    steps: rest.first.flatMap { Int($0) } ?? 50,
    networks: rest.count > 1 ? Array(rest.dropFirst()) : ["paper", "smoke"])
  exit(0)
}
if arguments.first == "predictor" {
  let rest = Array(arguments.dropFirst())
  let shapes = rest.filter { $0.hasPrefix("smoke") || $0 == "paper" }
  let threads = rest.compactMap { $0.hasPrefix("t") ? Int($0.dropFirst()) : nil }
  try benchmarkPredictor(
    shapes: shapes.isEmpty ? ["smoke", "paper"] : shapes, threads: threads.isEmpty ? [1, 2] : threads,
    repeats: rest.compactMap { Int($0) }.first ?? 3)
  exit(0)
}
if arguments.first == "teacher" {
  let rest = Array(arguments.dropFirst())
  try benchmarkTeacherStep(
    steps: rest.first.flatMap { Int($0) } ?? 60, window: rest.dropFirst().first.flatMap { Int($0) } ?? 3)
  exit(0)
}
if arguments.first == "lstm" {
  benchmarkLSTM(steps: arguments.dropFirst().first.flatMap { Int($0) } ?? 300)
  exit(0)
}
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

/// CPU time of the calling thread, in µs.
func threadMicroseconds() -> Double {
  var now = timespec()
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now)
  return Double(now.tv_sec) * 1e6 + Double(now.tv_nsec) * 1e-3
}

/// The fastest of `repeats` CPU-time measurements of `body`, in µs.
func fastest(_ body: () throws -> Void) rethrows -> Double {
  var best = Double.infinity
  for _ in 0..<repeats {
    let start = threadMicroseconds()
    try body()
    best = min(best, threadMicroseconds() - start)
  }
  return best
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

print(
  "variant                   examples  total_us_per_example  train_us_per_example  error_task3  fingerprint")
for variant in variants where selected.isEmpty || selected.contains(variant.name) {
  var parameters = variant.parameters
  parameters["examples_per_task"] = .int(examplesPerTask)
  parameters["tail_examples"] = .int(min(500, examplesPerTask))
  do {
    let config = try GeoffConfig(parameters: parameters)
    let examples = config.totalExamples
    var outcome = Outcome()
    let total = try fastest { outcome = try GeoffExperiment.run(parameters: parameters, seed: seed) }
    let settings = config.runSettings
    let task = GeoffTask(settings: settings.task, seed: seed)
    let learner = GeoffLearner(settings: settings.learner, seed: seed)
    var record = GeoffRunRecord()
    let train = fastest { record = GeoffRun.run(settings: settings, task: task, learner: learner) }
    precondition(record.stageError.last == outcome.metric("error_task3"), "timed runs disagree")
    let name = variant.name + String(repeating: " ", count: max(0, 24 - variant.name.count))
    print(
      "\(name)  \(examples)  \(total / Double(examples))  \(train / Double(examples))  \(outcome.metric("error_task3") ?? .nan)  \(fingerprint(outcome))"
    )
  } catch {
    print("\(variant.name): \(error)")
  }
}
