import Datasets
import Foundation
import Journal
import SweepModel
import Testing

/// A small crossprop-mnist sweep over `mnist`, read from `$METASWEEP_MNIST_DIR` (no `data_dir`),
/// with t-SNE maps of 80 images.
private let sweep = """
  name: images
  experiment: crossprop-mnist
  seeds: 0..<2
  fixed:
    dataset: mnist
    hidden_units: 16
    examples_per_task: 200
    bin_size: 50
    tail_examples: 100
    embedding_images: 80
    tsne_iterations: 50
  variants:
    backprop: {algorithm: backprop}
    crossprop-approx-eta0: {algorithm: crossprop-approx, eta: 0}
    adam: {algorithm: adam}
  metrics: [error_task1, u_drift_task3, w_drift_task3, test_accuracy_stage3_task1, tsne_knn_stage1]
  curves: [error_rate, u_drift]
  """

/// SynthDigits seed 5 (400 training, 100 test images) as gzipped MNIST files in `directory`;
/// `edit` may change training pixels first. Returns the dataset's hash.
private func writeDigits(to directory: URL, edit: (inout [UInt8]) -> Void = { _ in }) throws -> String {
  let generated = try SynthDigits.makeDataset(
    SynthImageSettings {
      $0.seed = 5
      $0.trainCount = 400
      $0.testCount = 100
    })
  var pixels = generated.train.images
  edit(&pixels)
  let dataset = try ImageDataset(
    name: "mnist", rows: generated.rows, columns: generated.columns, classes: generated.classes,
    train: ImageSplit(images: pixels, labels: generated.train.labels), test: generated.test)
  try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
  try dataset.writeIDX(to: directory.path, compression: .gzip)
  return dataset.sha256
}

/// Every number of an outcome, bit for bit.
private func bits(_ outcome: Outcome) -> [UInt64] {
  outcome.metrics.map(\.value.bitPattern) + outcome.series.flatMap { $0.values.map(\.bitPattern) }
}

@Suite(.serialized) struct ImageSweepEndToEndTests {
  @Test func imageSweep_writesClaimsMapsAndTheDatasetsHash() throws {
    let dir = try makeScratchDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let hash = try writeDigits(to: dir.appendingPathComponent("digits"))
    try sweep.write(to: dir.appendingPathComponent("sweep.yaml"), atomically: true, encoding: .utf8)
    let result = try Binary.run(
      ["run", "sweep.yaml", "--workers", "2", "--out", "out"], in: dir,
      environment: ["METASWEEP_MNIST_DIR": dir.appendingPathComponent("digits").path])
    #expect(result.status == 0, "\(result.stderr)")
    let out = dir.appendingPathComponent("out")
    func read(_ name: String) throws -> String {
      try String(contentsOf: out.appendingPathComponent(name), encoding: .utf8)
    }

    // The hash is in every run's parameters, so in its key, and in the manifest.
    let journal = try Journal(path: out.appendingPathComponent("journal.sqlite").path, readOnly: true)
    let finished = try journal.finishedRuns()
    #expect(finished.count == 6)
    #expect(finished.allSatisfy { $0.run.parameters["dataset_sha256"] == .string(hash) })
    #expect(try read("MANIFEST.json").contains("\"datasets\": {\n    \"mnist\": [\"\(hash)\"]\n  }"))

    // A map per stage: every variant and seed in the CSV, one figure per variant.
    let csv = try read("maps/tsne_stage1.csv").split(separator: "\n")
    #expect(csv.first == "x,y,label,variant,seed")
    #expect(csv.count == 1 + 80 * 3 * 2)
    #expect(csv.filter { $0.hasSuffix(",crossprop-approx-eta0,1") }.count == 80)
    for stage in 1...3 {
      for variant in ["backprop", "crossprop-approx-eta0", "adam"] {
        let svg = try read("figures/tsne_stage\(stage)_\(variant).svg")
        #expect(svg.contains("hidden units after stage \(stage)") && svg.contains("<circle"))
      }
    }

    // The claims, with a verdict on every comparison and a summary of each.
    let claims = try read("claims.md")
    #expect(claims.contains("## Crossprop-approx changes U less than backprop"))
    #expect(claims.contains("| crossprop-approx-eta0 − backprop | 3 |"))
    #expect(claims.contains("| adam − crossprop-approx-eta0 | 1 |"))
    #expect(claims.contains("- **Adam and RMSProp reach a lower asymptotic error (Fig. 1 right)**: "))
    #expect(claims.contains("mnist (SHA-256 \(hash.prefix(16))…)"))
    #expect(result.stdout.contains("claims.md"))
  }

  /// A worker whose copy of the data differs refuses every run, naming its host and both hashes;
  /// nothing it could have computed is journaled, and the runs it refused complete, bit-identical,
  /// on a worker with the right copy.
  @Test func aStaleWorker_neverMixesData_intoTheSweep() throws {
    let dir = try makeScratchDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let good = try writeDigits(to: dir.appendingPathComponent("good"))
    let stale = try writeDigits(to: dir.appendingPathComponent("stale")) { $0[1000] ^= 0x40 }
    #expect(good != stale)
    try sweep.write(to: dir.appendingPathComponent("sweep.yaml"), atomically: true, encoding: .utf8)
    let goodDirectory = ["METASWEEP_MNIST_DIR": dir.appendingPathComponent("good").path]
    let staleDirectory = ["METASWEEP_MNIST_DIR": dir.appendingPathComponent("stale").path]

    // The reference: the same sweep where every worker has the right copy.
    let reference = try Binary.run(
      ["run", "sweep.yaml", "--workers", "1", "--out", "reference"], in: dir, environment: goodDirectory)
    #expect(reference.status == 0, "\(reference.stderr)")
    let expected = try Journal(
      path: dir.appendingPathComponent("reference/journal.sqlite").path, readOnly: true
    ).finishedRuns()
    #expect(expected.count == 6)

    // Only the stale worker at first: every run is refused, with a reason.
    let endpoint = "tcp://127.0.0.1:\(try freeLoopbackPort())"
    let coordinator = try Binary.Running(
      ["coordinator", "sweep.yaml", "--bind", endpoint, "--out", "out", "--retries", "1000"], directory: dir,
      environment: goodDirectory)
    let staleWorker = try Binary.Running(
      ["worker", "--connect", endpoint, "--slots", "1", "--name", "stale"], directory: dir,
      environment: staleDirectory)
    let journalPath = dir.appendingPathComponent("out/journal.sqlite").path
    let refused = waitUntil(timeout: 120) {
      guard FileManager.default.fileExists(atPath: journalPath),
        let journal = try? Journal(path: journalPath, readOnly: true),
        let counts = try? journal.counts()
      else { return false }
      return counts.total == 6 && (try? journal.finishedRuns().count) == 0
        && (try? String(contentsOfFile: coordinator.stderrPath, encoding: .utf8))?.contains(stale) == true
    }
    #expect(refused)

    // A worker with the right copy joins and completes every run.
    let goodWorker = try Binary.Running(
      ["worker", "--connect", endpoint, "--slots", "1", "--name", "good"], directory: dir,
      environment: goodDirectory)
    let result = coordinator.wait(timeout: 300)
    #expect(result.status == 0, "\(result.stderr.suffix(3000))")
    #expect(result.stderr.contains("has SHA-256 \(stale), but the sweep pinned \(good)"))
    #expect(result.stderr.contains("on host "))
    _ = staleWorker.wait(timeout: 30)
    _ = goodWorker.wait(timeout: 30)
    let finished = try Journal(path: journalPath, readOnly: true).finishedRuns()
    #expect(finished.count == 6)
    #expect(finished.allSatisfy { $0.worker.contains("good") }, "\(finished.map(\.worker))")
    for run in finished {
      let twin = expected.first { $0.run.variant == run.run.variant && $0.run.seed == run.run.seed }
      #expect(twin.map { bits($0.outcome) } == bits(run.outcome), "\(run.run.variant) seed \(run.run.seed)")
    }
  }
}

/// An MNIST-style folder written byte by byte: `count` training and 10 test images of 28 × 28,
/// then `damage` applied to the named file's bytes.
private func writeIDXFolder(
  _ directory: URL, count: Int = 400, damage: (String, (inout [UInt8]) -> Void)? = nil
) throws {
  try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
  func bigEndian(_ word: Int) -> [UInt8] { [24, 16, 8, 0].map { UInt8(truncatingIfNeeded: word >> $0) } }
  func images(_ n: Int) -> [UInt8] {
    bigEndian(0x0803) + bigEndian(n) + bigEndian(28) + bigEndian(28)
      + (0..<(n * 784)).map { UInt8(truncatingIfNeeded: $0 &* 2_654_435_761 >> 24) }
  }
  func labels(_ n: Int) -> [UInt8] { bigEndian(0x0801) + bigEndian(n) + (0..<n).map { UInt8($0 % 10) } }
  for (name, bytes) in [
    ("train-images-idx3-ubyte", images(count)), ("train-labels-idx1-ubyte", labels(count)),
    ("t10k-images-idx3-ubyte", images(10)), ("t10k-labels-idx1-ubyte", labels(10)),
  ] {
    var bytes = bytes
    if let (file, change) = damage, file == name { change(&bytes) }
    #expect(
      FileManager.default.createFile(
        atPath: directory.appendingPathComponent(name).path, contents: Data(bytes)))
  }
}

@Test func damagedDatasetFiles_stopTheSweepBeforeItStarts_namingFileAndField_exit2() throws {
  let dir = try makeScratchDirectory()
  defer { try? FileManager.default.removeItem(at: dir) }
  try sweep.write(to: dir.appendingPathComponent("sweep.yaml"), atomically: true, encoding: .utf8)
  let cases: [(String, String, (inout [UInt8]) -> Void, String)] = [
    ("magic", "train-images-idx3-ubyte", { $0[3] = 0x04 }, "magic"),
    ("truncated", "train-images-idx3-ubyte", { $0.removeLast(1000) }, "size"),
    (
      "count", "train-labels-idx1-ubyte",
      {
        $0[7] = UInt8(399 & 0xFF); $0[6] = UInt8(399 >> 8); $0.removeLast()
      }, "labels"
    ),
    ("label", "t10k-labels-idx1-ubyte", { $0[8 + 3] = 10 }, "labels"),
  ]
  for (name, file, damage, field) in cases {
    let folder = dir.appendingPathComponent(name)
    try writeIDXFolder(folder, damage: (file, damage))
    let result = try Binary.run(
      ["run", "sweep.yaml", "--workers", "1", "--out", "out-\(name)"], in: dir,
      environment: ["METASWEEP_MNIST_DIR": folder.path])
    #expect(result.status == 2, "\(name): \(result.stderr)")
    #expect(result.stderr.contains(folder.appendingPathComponent(file).path), "\(name): \(result.stderr)")
    #expect(result.stderr.contains(": \(field):"), "\(name): \(result.stderr)")
    #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("out-\(name)").path))
  }
  // The undamaged folder passes the same checks.
  try writeIDXFolder(dir.appendingPathComponent("intact"))
  let intact = try Binary.run(
    ["run", "sweep.yaml", "--workers", "1", "--out", "out-intact"], in: dir,
    environment: ["METASWEEP_MNIST_DIR": dir.appendingPathComponent("intact").path])
  #expect(intact.status == 0, "\(intact.stderr)")
}
