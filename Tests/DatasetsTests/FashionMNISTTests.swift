import Datasets
import Foundation
import Testing

/// Whether Debian's dataset-fashion-mnist is installed (`tools/setup` installs it; CI runs it).
let isFashionMNISTInstalled = FileManager.default.fileExists(
  atPath: "\(DatasetSource.defaultFashionMNISTDirectory)/train-images-idx3-ubyte.gz")

@Test(.enabled(if: isFashionMNISTInstalled, "needs Debian's dataset-fashion-mnist (tools/setup installs it)"))
func fashionMNIST_loads60000And10000ImagesOf28x28_withTenClasses_andThePinnedHash() throws {
  let dataset = try DatasetCache.shared.dataset(DatasetSource.named("fashion-mnist"))
  #expect(dataset.name == "fashion-mnist")
  #expect((dataset.rows, dataset.columns, dataset.classes) == (28, 28, 10))
  #expect(dataset.train.count == 60_000 && dataset.test.count == 10_000)
  #expect(dataset.train.images.count == 60_000 * 784 && dataset.test.images.count == 10_000 * 784)
  #expect(dataset.train.labels.allSatisfy { $0 < 10 } && dataset.test.labels.allSatisfy { $0 < 10 })
  // 6,000 training images per class, as the dataset's paper says.
  var counts = Array(repeating: 0, count: 10)
  for label in dataset.train.labels { counts[Int(label)] += 1 }
  #expect(counts == Array(repeating: 6000, count: 10))
  // Measured from the files of dataset-fashion-mnist 0.0~git20200523.55506a9-1 (Debian bookworm),
  // and computed independently in Python (gzip + hashlib) from the format ImageDataset.sha256 gives.
  #expect(dataset.sha256 == "37be1ae9ecaa1df74193b80b4e5c04d1d491bb3b4de2adcf108c0141b4a73d59")
}
