#ifndef CZLIB_SHIM_H
#define CZLIB_SHIM_H
#include <zlib.h>

/// zlib's inflateInit2 and deflateInit2 are macros (they pass the header's version and
/// sizeof(z_stream), so a mismatched library is refused), which Swift cannot call: these wrap them.

/// Starts inflating gzip or zlib data (windowBits 15 + 32: a 32 KiB window, header detected).
static inline int metasweep_inflate_init_auto(z_streamp stream) {
  return inflateInit2(stream, 15 + 32);
}

/// Starts deflating into a gzip member (windowBits 15 + 16) at `level` (0-9, or -1 for zlib's
/// default, 6).
static inline int metasweep_deflate_init_gzip(z_streamp stream, int level) {
  return deflateInit2(stream, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
}
#endif
