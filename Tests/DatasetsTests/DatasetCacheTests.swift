import Datasets
import Foundation
import Synchronization
import Testing

/// Runs `body` on `count` threads released together, and returns once all have finished.
func onThreadsAtOnce(_ count: Int, _ body: @escaping @Sendable () -> Void) {
  let start = DispatchSemaphore(value: 0)
  let done = DispatchGroup()
  for _ in 0..<count {
    done.enter()
    Thread {
      start.wait()
      body()
      done.leave()
    }
    .start()
  }
  for _ in 0..<count { start.signal() }
  done.wait()
}

@Test func datasetCache_loadsOnce_whenManyThreadsAskAtOnce_andSharesOneValue() throws {
  let loads = Atomic<Int>(0)
  let cache = DatasetCache { source throws(DatasetError) in
    loads.add(1, ordering: .relaxed)
    return try source.load()
  }
  var settings = SynthImageSettings()
  settings.trainCount = 300
  settings.testCount = 100
  let source = DatasetSource.synthDigits(settings)
  let hashes = Mutex<[String]>([])
  onThreadsAtOnce(8) {
    let hash = (try? cache.dataset(source))?.sha256 ?? "failed"
    hashes.withLock { $0.append(hash) }
  }
  #expect(loads.load(ordering: .relaxed) == 1)
  #expect(hashes.withLock { $0.count == 8 && Set($0) == [try? cache.dataset(source).sha256] })
  _ = try cache.dataset(source)
  #expect(loads.load(ordering: .relaxed) == 1)
}

@Test func datasetCache_keysByResolvedFolder_andDoesNotKeepFailures() throws {
  let loads = Atomic<Int>(0)
  let cache = DatasetCache { source throws(DatasetError) in
    loads.add(1, ordering: .relaxed)
    return try source.load()
  }
  let directory = try makeTemporaryDirectory("cache")
  defer { removeDirectory(directory) }
  // Not there yet: the error is returned, not remembered.
  let error = datasetError { try cache.dataset(.mnist(directory: directory)) }
  #expect(error?.code == .missingFile)
  writeTinyIDXFolder(directory)
  let first = try cache.dataset(.mnist(directory: directory))
  let second = try cache.dataset(.mnist(directory: directory + "/./"))
  #expect(first == second)
  #expect(loads.load(ordering: .relaxed) == 2)
  // Another dataset name over the same folder is another entry.
  _ = try cache.dataset(.fashionMNIST(directory: directory))
  #expect(loads.load(ordering: .relaxed) == 3)
}
