#ifndef CSQLITETUNING_SHIM_H
#define CSQLITETUNING_SHIM_H
#include <sqlite3.h>

/// Turns off SQLite's memory statistics, which take a global mutex on every allocation.
/// Only takes effect before SQLite initialises (the first connection opened in the process);
/// returns SQLITE_OK then, SQLITE_MISUSE after.
static inline int metasweep_sqlite_memstatus_off(void) {
  return sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}
#endif
