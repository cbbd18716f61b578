import Datasets
import Foundation

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Times loading Fashion-MNIST from `directory` (inflating the four gzipped IDX files, checking
/// them, hashing the content) and generating SynthDigits at MNIST's size, `repeats` times each,
/// fresh every time (no cache). Prints one line per dataset: "name images wall_ms_fastest
/// wall_ms_median cpu_ms_fastest sha256", with CPU time summed over the process's threads.
/// Then the SHA-256 of SynthDigits seed 1, 100 + 50 images, which DatasetsTests pins.
func benchmarkDatasets(directory: String, repeats: Int) throws {
  func processMilliseconds() -> Double {
    var now = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now)
    return Double(now.tv_sec) * 1e3 + Double(now.tv_nsec) * 1e-6
  }
  func time(_ name: String, _ load: () throws -> ImageDataset) rethrows {
    var walls: [Double] = []
    var cpus: [Double] = []
    var dataset: ImageDataset?
    for _ in 0..<repeats {
      let cpuStart = processMilliseconds()
      let elapsed = try ContinuousClock().measure { dataset = try load() }
      cpus.append(processMilliseconds() - cpuStart)
      walls.append(Double(elapsed.components.seconds) * 1e3 + Double(elapsed.components.attoseconds) * 1e-15)
    }
    walls.sort()
    let images = dataset.map { $0.train.count + $0.test.count } ?? 0
    print(
      "\(name)  \(images)  \(walls[0])  \(walls[walls.count / 2])  \(cpus.min()!)  \(dataset?.sha256 ?? "-")")
  }
  print("dataset  images  wall_ms_fastest  wall_ms_median  cpu_ms_fastest  sha256")
  try time("fashion-mnist") { try DatasetSource.fashionMNIST(directory: directory).load() }
  try time("synth-digits") { try SynthDigits.makeDataset() }
  let pinned = try SynthDigits.makeDataset(
    SynthImageSettings {
      $0.seed = 1
      $0.trainCount = 100
      $0.testCount = 50
    })
  print("synth-digits seed 1, 100 + 50 images: \(pinned.sha256)")
}
