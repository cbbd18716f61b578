import Foundation
import SweepModel
import SweepProtocol

/// Gets a worker the input artifacts of its leases: from a store on this disk (a local worker reads
/// the coordinator's), from its own cache, or else from the coordinator, in chunks over the worker's
/// connection; every artifact is checked against its SHA-256 before a run sees it.
///
/// It owns the cache folder and the transfers in flight; the shell owns the socket and sends what
/// this asks. Used only on the shell's poll thread. Guarantees:
/// - a lease starts only when every input is in hand and matches its hash; bytes that do not are
///   never cached nor used (the transfer starts over once, then the lease fails, naming the artifact);
/// - at most ``window`` chunk requests of an artifact are outstanding, each ``chunkBytes`` long;
/// - a transfer that hears nothing for ``stallTimeout`` asks again from where it stopped (a
///   coordinator that restarted lost the requests);
/// - the cache holds at most ``cacheBytes`` (least recently used first out), never evicting an
///   input of a lease that waits.
final class ArtifactFetcher {
  /// The store a local worker shares with its coordinator (read-only here), if any.
  let localStore: ArtifactStore?
  /// This worker's own cache (content-addressed like a store).
  let cache: ArtifactStore
  /// The most bytes the cache keeps.
  let cacheBytes: Int
  /// Bytes per chunk request (1 MiB).
  let chunkBytes = 4 << 20
  /// Chunk requests outstanding per transfer (8).
  let window = 8
  /// How long a transfer may hear nothing before asking again (10 s).
  let stallTimeout: Duration = .seconds(10)

  /// An artifact coming from the coordinator.
  private struct Transfer {
    var received: [UInt8] = []
    var total: Int?
    /// The offset the next request asks for.
    var requested = 0
    var lastHeard: ContinuousClock.Instant
    /// Whether a transfer of it already failed its hash check once.
    var isRetry = false
    /// When it was first asked for.
    var started: ContinuousClock.Instant
    /// The SHA-256 of what arrived, updated chunk by chunk (hashing while the next chunks travel).
    var hasher = SHA256.State()
  }

  /// A lease waiting for inputs, and the inputs in hand so far.
  private struct Waiting {
    var lease: WireMessage.Lease
    var inputs: [String: [UInt8]]
    var missing: Set<String>
  }

  private var transfers: [String: Transfer] = [:]
  private var waiting: [Waiting] = []
  /// Bytes received from the coordinator, for logs.
  private(set) var bytesFetched = 0

  init(localStore: String?, cacheFolder: String, cacheBytes: Int) {
    self.localStore = localStore.map(ArtifactStore.init(folder:))
    self.cache = ArtifactStore(folder: cacheFolder)
    self.cacheBytes = cacheBytes
  }

  /// What the shell must do next.
  enum Step {
    /// Send this request to the coordinator.
    case request(WireMessage.ArtifactRequest)
    /// Start this lease with these inputs (by SHA-256).
    case start(WireMessage.Lease, [String: [UInt8]])
    /// Report this lease failed: an input cannot be had.
    case fail(WireMessage.Lease, String)
    /// An artifact of this many bytes arrived whole and verified, this long after it was asked for.
    case fetched(sha256: String, bytes: Int, after: Duration)
  }

  /// A lease arrived: it starts at once when it consumes nothing or everything is on this disk;
  /// otherwise the missing artifacts are requested and it waits.
  func onLease(_ lease: WireMessage.Lease, hashes: [String], now: ContinuousClock.Instant) -> [Step] {
    var inputs: [String: [UInt8]] = [:]
    var missing: Set<String> = []
    for hash in hashes where inputs[hash] == nil {
      if let bytes = onDisk(hash) { inputs[hash] = bytes } else { missing.insert(hash) }
    }
    guard !missing.isEmpty else { return [.start(lease, inputs)] }
    waiting.append(Waiting(lease: lease, inputs: inputs, missing: missing))
    var out: [Step] = []
    for hash in missing.sorted() where transfers[hash] == nil {
      transfers[hash] = Transfer(lastHeard: now, started: now)
      out += requests(for: hash)
    }
    return out
  }

  /// Bytes of an artifact arrived.
  func onChunk(_ chunk: WireMessage.ArtifactChunk, now: ContinuousClock.Instant) -> [Step] {
    // Taken out of the table while it grows: a copy left there would make every append copy the
    // bytes received so far (quadratic: 100 MB took 3.8 s instead of 0.3 s).
    guard var transfer = transfers.removeValue(forKey: chunk.sha256) else { return [] }
    // Chunks come in request order over one connection; anything else (a late answer to a request
    // made before a restart) is dropped, and the stall timer asks again.
    guard chunk.offset == UInt64(transfer.received.count),
      transfer.total.map({ UInt64($0) == chunk.totalBytes }) ?? true
    else {
      transfers[chunk.sha256] = transfer
      return []
    }
    transfer.total = Int(chunk.totalBytes)
    transfer.received += chunk.bytes
    transfer.hasher.update(chunk.bytes)
    transfer.lastHeard = now
    bytesFetched += chunk.bytes.count
    if transfer.received.count < transfer.total! {
      transfers[chunk.sha256] = transfer
      return chunk.bytes.isEmpty ? [] : requests(for: chunk.sha256)
    }
    guard SHA256.hexString(transfer.hasher.finalize()) == chunk.sha256 else {
      if transfer.isRetry {
        return failWaiting(
          for: chunk.sha256, "the artifact \(chunk.sha256.prefix(12)) arrived twice with the wrong hash")
      }
      transfers[chunk.sha256] = Transfer(lastHeard: now, isRetry: true, started: transfer.started)
      return requests(for: chunk.sha256)
    }
    // Timed once the bytes are verified: a copy's integrity check is part of what it costs.
    let fetched = Step.fetched(
      sha256: chunk.sha256, bytes: transfer.received.count, after: ContinuousClock.now - transfer.started)
    _ = try? cache.store(transfer.received)
    evict()
    return [fetched] + deliver(chunk.sha256, transfer.received)
  }

  /// The coordinator cannot serve an artifact: the leases that need it fail.
  func onMissing(sha256: String, reason: String) -> [Step] {
    guard transfers.removeValue(forKey: sha256) != nil else { return [] }
    return failWaiting(for: sha256, reason)
  }

  /// Asks again for transfers that have heard nothing for ``stallTimeout``.
  func onTick(now: ContinuousClock.Instant) -> [Step] {
    var out: [Step] = []
    for hash in transfers.keys.sorted() where now - transfers[hash]!.lastHeard > stallTimeout {
      transfers[hash]!.requested = transfers[hash]!.received.count
      transfers[hash]!.lastHeard = now
      out += requests(for: hash)
    }
    return out
  }

  /// Requests up to the window ahead of what arrived (one request until the size is known).
  private func requests(for hash: String) -> [Step] {
    guard var transfer = transfers[hash] else { return [] }
    var out: [Step] = []
    // Until the size is known, only the first chunk is asked for (offset 0 below 1).
    let limit = transfer.total.map { min($0, transfer.received.count + window * chunkBytes) } ?? 1
    while transfer.requested < limit {
      out.append(
        .request(.init(sha256: hash, offset: UInt64(transfer.requested), length: UInt32(chunkBytes))))
      transfer.requested += chunkBytes
    }
    transfers[hash] = transfer
    return out
  }

  private func deliver(_ hash: String, _ bytes: [UInt8]) -> [Step] {
    var out: [Step] = []
    var still: [Waiting] = []
    for var entry in waiting {
      if entry.missing.remove(hash) != nil { entry.inputs[hash] = bytes }
      if entry.missing.isEmpty { out.append(.start(entry.lease, entry.inputs)) } else { still.append(entry) }
    }
    waiting = still
    return out
  }

  private func failWaiting(for hash: String, _ reason: String) -> [Step] {
    let (failing, still) = (
      waiting.filter { $0.missing.contains(hash) }, waiting.filter { !$0.missing.contains(hash) }
    )
    waiting = still
    return failing.map { .fail($0.lease, "Cannot get the input \(hash.prefix(12)): \(reason)") }
  }

  /// The intact bytes of `hash` on this disk (the shared store, then the cache), or nil. A damaged
  /// cached copy is deleted; a used one becomes the most recently used.
  private func onDisk(_ hash: String) -> [UInt8]? {
    for store in [localStore, cache].compactMap({ $0 }) {
      let path = store.path(of: hash)
      guard let data = FileManager.default.contents(atPath: path) else { continue }
      let bytes = [UInt8](data)
      guard SHA256.hexString(SHA256.digest(bytes)) == hash else {
        if store.folder == cache.folder { unlink(path) }
        continue
      }
      if store.folder == cache.folder { utime(path, nil) }
      return bytes
    }
    return nil
  }

  /// Deletes the least recently used cached artifacts until the cache fits ``cacheBytes``, sparing
  /// inputs of waiting leases.
  private func evict() {
    let spared = Set(waiting.flatMap { Array($0.inputs.keys) + Array($0.missing) })
    var files: [(path: String, hash: String, size: Int, used: Date)] = []
    let manager = FileManager.default
    for prefix in (try? manager.contentsOfDirectory(atPath: cache.folder)) ?? [] {
      let folder = "\(cache.folder)/\(prefix)"
      for name in (try? manager.contentsOfDirectory(atPath: folder)) ?? [] where SHA256.isDigestHex(name) {
        let path = "\(folder)/\(name)"
        guard let attributes = try? manager.attributesOfItem(atPath: path),
          let size = (attributes[.size] as? NSNumber)?.intValue,
          let used = attributes[.modificationDate] as? Date
        else { continue }
        files.append((path, name, size, used))
      }
    }
    var total = files.reduce(0) { $0 + $1.size }
    for file in files.sorted(by: { ($0.used, $0.hash) < ($1.used, $1.hash) }) where total > cacheBytes {
      guard !spared.contains(file.hash) else { continue }
      unlink(file.path)
      total -= file.size
    }
  }
}
