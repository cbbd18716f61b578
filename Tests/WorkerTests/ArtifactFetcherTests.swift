import Foundation
import SweepModel
import SweepProtocol
import Testing

@testable import Worker

private let t0 = ContinuousClock.now

/// A fresh folder under the temporary directory.
private func scratch() throws -> String {
  let path = NSTemporaryDirectory() + "/fetcher-\(UUID().uuidString)"
  try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
  return path
}

/// `count` bytes of a simple pattern that differs by `tag`.
private func artifact(_ count: Int, tag: UInt8) -> [UInt8] {
  (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ Int(tag)) }
}

private func sha(_ bytes: [UInt8]) -> String { SHA256.hexString(SHA256.digest(bytes)) }

private func lease(_ attempt: UInt64) -> WireMessage.Lease {
  WireMessage.Lease(
    attempt: attempt, key: RunKey(hex: String(repeating: "c", count: 64)), experiment: "noop-digest",
    parameters: [:], seed: attempt)
}

/// Plays the coordinator: answers every request of `steps` from `store` (the artifacts by hash),
/// with `corrupt` flipping a byte of what is sent, until nothing more is asked; returns the last steps.
private func serve(
  _ fetcher: ArtifactFetcher, _ steps: [ArtifactFetcher.Step], from store: [String: [UInt8]],
  corrupt: Bool = false, requests: inout [WireMessage.ArtifactRequest]
) -> [ArtifactFetcher.Step] {
  var queue = steps
  var finished: [ArtifactFetcher.Step] = []
  while !queue.isEmpty {
    let step = queue.removeFirst()
    guard case .request(let request) = step else {
      finished.append(step)
      continue
    }
    requests.append(request)
    let bytes = store[request.sha256]!
    let start = Int(request.offset)
    var part = Array(bytes[start..<min(bytes.count, start + Int(request.length))])
    if corrupt && !part.isEmpty { part[0] ^= 1 }
    let chunk = WireMessage.ArtifactChunk(
      sha256: request.sha256, offset: request.offset, totalBytes: UInt64(bytes.count), bytes: part)
    queue += fetcher.onChunk(chunk, now: t0)
  }
  return finished
}

@Suite struct ArtifactFetcherTests {
  @Test func aMissingInput_isFetchedInChunks_withinTheWindow_verified_cached_andTheLeaseStarts() throws {
    let folder = try scratch()
    let fetcher = ArtifactFetcher(localStore: nil, cacheFolder: folder, cacheBytes: 1 << 30)
    let big = artifact(5 * fetcher.chunkBytes / 2, tag: 1)
    let first = fetcher.onLease(lease(1), hashes: [sha(big)], now: t0)
    // One request until the size is known.
    #expect(first.count == 1)
    var requests: [WireMessage.ArtifactRequest] = []
    let done = serve(fetcher, first, from: [sha(big): big], requests: &requests)
    #expect(requests.map(\.offset) == [0, 1, 2].map { UInt64($0 * fetcher.chunkBytes) })
    #expect(done.count == 2)
    guard case .fetched(_, let count, _) = try #require(done.first), count == big.count,
      case .start(let started, let inputs) = try #require(done.last)
    else {
      Issue.record("the lease did not start: \(done)")
      return
    }
    #expect(started.attempt == 1 && inputs[sha(big)] == big)
    #expect(fetcher.bytesFetched == big.count)
    // Cached: the next lease needing it starts at once, asking nothing.
    let again = fetcher.onLease(lease(2), hashes: [sha(big)], now: t0)
    guard case .start = try #require(again.first) else {
      Issue.record("a cached input was fetched again: \(again)")
      return
    }
  }

  @Test func bytesThatDoNotMatchTheirHash_areFetchedOnceMore_thenTheLeaseFails_namingTheArtifact() throws {
    let fetcher = ArtifactFetcher(localStore: nil, cacheFolder: try scratch(), cacheBytes: 1 << 30)
    let bytes = artifact(1000, tag: 2)
    var requests: [WireMessage.ArtifactRequest] = []
    let steps = serve(
      fetcher, fetcher.onLease(lease(1), hashes: [sha(bytes)], now: t0), from: [sha(bytes): bytes],
      corrupt: true,
      requests: &requests)
    #expect(requests.count == 2)
    guard case .fail(let failed, let reason) = try #require(steps.last) else {
      Issue.record("damaged bytes were used: \(steps)")
      return
    }
    #expect(failed.attempt == 1 && reason.contains(String(sha(bytes).prefix(12))))
    #expect(fetcher.cache.problem(with: .init(sha256: sha(bytes), size: bytes.count)) == "is missing")
  }

  @Test func anArtifactTheCoordinatorCannotServe_failsEveryLeaseWaitingForIt() throws {
    let fetcher = ArtifactFetcher(localStore: nil, cacheFolder: try scratch(), cacheBytes: 1 << 30)
    let hash = sha([1, 2, 3])
    _ = fetcher.onLease(lease(1), hashes: [hash], now: t0)
    _ = fetcher.onLease(lease(2), hashes: [hash], now: t0)
    let steps = fetcher.onMissing(sha256: hash, reason: "damaged")
    #expect(steps.count == 2 && steps.allSatisfy { if case .fail = $0 { true } else { false } })
  }

  @Test func aSilentTransfer_asksAgainFromWhereItStopped() throws {
    let fetcher = ArtifactFetcher(localStore: nil, cacheFolder: try scratch(), cacheBytes: 1 << 30)
    let bytes = artifact(3 * fetcher.chunkBytes, tag: 3)
    let first = fetcher.onLease(lease(1), hashes: [sha(bytes)], now: t0)
    guard case .request(let request) = try #require(first.first) else { return }
    // The first chunk arrives; the rest of the window is lost (a coordinator restarted).
    _ = fetcher.onChunk(
      .init(
        sha256: request.sha256, offset: 0, totalBytes: UInt64(bytes.count),
        bytes: Array(bytes[0..<fetcher.chunkBytes])), now: t0)
    #expect(fetcher.onTick(now: t0 + .seconds(1)).isEmpty)
    let retry = fetcher.onTick(now: t0 + fetcher.stallTimeout + .seconds(1))
    let offsets = retry.compactMap { if case .request(let r) = $0 { r.offset } else { nil } }
    #expect(offsets == [UInt64(fetcher.chunkBytes), UInt64(2 * fetcher.chunkBytes)])
  }

  @Test func theCache_keepsItsBound_evictingTheLeastRecentlyUsed() throws {
    let folder = try scratch()
    let fetcher = ArtifactFetcher(localStore: nil, cacheFolder: folder, cacheBytes: 2500)
    var requests: [WireMessage.ArtifactRequest] = []
    let old = artifact(1000, tag: 4)
    let used = artifact(1000, tag: 5)
    let new = artifact(1000, tag: 6)
    for (index, bytes) in [old, used].enumerated() {
      _ = serve(
        fetcher, fetcher.onLease(lease(UInt64(index)), hashes: [sha(bytes)], now: t0),
        from: [sha(bytes): bytes],
        requests: &requests)
    }
    // `old` is used last, from the cache, so `used` is now the least recently used.
    let past = Date(timeIntervalSinceNow: -100)
    try FileManager.default.setAttributes(
      [.modificationDate: past], ofItemAtPath: fetcher.cache.path(of: sha(used)))
    try FileManager.default.setAttributes(
      [.modificationDate: past.addingTimeInterval(-50)], ofItemAtPath: fetcher.cache.path(of: sha(old)))
    _ = fetcher.onLease(lease(5), hashes: [sha(old)], now: t0)
    _ = serve(
      fetcher, fetcher.onLease(lease(6), hashes: [sha(new)], now: t0), from: [sha(new): new],
      requests: &requests)
    let cache = fetcher.cache
    #expect(cache.problem(with: .init(sha256: sha(used), size: 1000)) == "is missing")
    #expect(cache.problem(with: .init(sha256: sha(old), size: 1000)) == nil)
    #expect(cache.problem(with: .init(sha256: sha(new), size: 1000)) == nil)
  }
}
