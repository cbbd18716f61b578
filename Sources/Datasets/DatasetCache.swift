import Synchronization

/// The datasets a process has loaded, each loaded once and shared by every thread that asks.
///
/// A worker asks ``shared`` for the dataset of each run it trains; the first ask loads it and the
/// others get the same arrays (copy-on-write, so one copy in memory however many threads read it).
///
/// Guarantees, whatever the interleaving of callers:
/// - a source, keyed by its name and resolved folder (or generator settings), is loaded at most
///   once while its loads succeed: a thread that asks while another loads it waits for that load
///   and gets its value;
/// - different sources load at the same time: the cache-wide lock is held only to find a source's
///   entry, never during a load;
/// - a failed load is not kept: each caller gets the error of its own attempt, and the next call
///   tries again, so a folder fixed while a worker runs is read without a restart.
public final class DatasetCache: Sendable {
  /// The process's cache.
  public static let shared = DatasetCache()

  /// One source's slot; its lock is held while the source loads.
  private final class Entry: Sendable {
    let dataset = Mutex<ImageDataset?>(nil)
  }

  private let entries = Mutex<[DatasetSource: Entry]>([:])
  private let loader: @Sendable (DatasetSource) throws(DatasetError) -> ImageDataset

  /// A cache that loads with ``DatasetSource/load()``.
  public convenience init() {
    self.init { source throws(DatasetError) in try source.load() }
  }

  /// A cache that loads with `loader` (given the source with its folder resolved).
  public init(loader: @escaping @Sendable (DatasetSource) throws(DatasetError) -> ImageDataset) {
    self.loader = loader
  }

  /// The dataset of `source`, loaded now if this cache does not hold it yet.
  public func dataset(_ source: DatasetSource) throws(DatasetError) -> ImageDataset {
    let key = source.resolved
    let entry = entries.withLock { entries in
      if let entry = entries[key] { return entry }
      let entry = Entry()
      entries[key] = entry
      return entry
    }
    return try entry.dataset.withLock { dataset throws(DatasetError) -> ImageDataset in
      if let dataset { return dataset }
      let loaded = try loader(key)
      dataset = loaded
      return loaded
    }
  }

  /// Forgets every dataset, so memory is freed once no caller holds them and the next ask loads again.
  public func removeAll() {
    entries.withLock { $0.removeAll() }
  }
}
