#ifndef COPENBLAS_SHIM_H
#define COPENBLAS_SHIM_H
// Debian's libopenblas-dev: cblas.h (the alternatives link to OpenBLAS's, which also declares
// openblas_set_num_threads) and libopenblas.so.
#include <cblas.h>
#endif
