import CSQLiteTuning

/// Process-wide SQLite settings, applied once before the first journal opens.
///
/// Memory statistics are off: with them on (Debian's default), every allocation SQLite makes takes
/// a global mutex to count it, about 6% of a journal write (`metasweep-bench journal`). Nothing
/// here uses them (no soft heap limit). SQLite accepts the setting only before it initialises, that
/// is before the process opens its first database; a process that opened one earlier keeps them.
enum SQLiteTuning {
  /// Whether SQLite took the settings (false: it had initialised before the first journal).
  static let applied: Bool = metasweep_sqlite_memstatus_off() == SQLITE_OK
}
