import COpenBLAS

/// The number types a ``ConvNet`` computes in: `Float` for training, `Double` for the
/// finite-difference checks of every backward pass.
///
/// Matrix products go through OpenBLAS (Debian's libopenblas), one thread per calling thread: a
/// worker slot is a thread, and OpenBLAS's own threads would split a slot's product over cores
/// that other slots use. Every product sums in an order fixed by the kernel OpenBLAS picks for the
/// CPU, so the same binary on the same machine type gives the same bits.
public protocol NetworkScalar: BinaryFloatingPoint, Sendable {
  /// C ← α·op(A)·op(B) + β·C for row-major matrices: op(A) is m × k, op(B) is k × n, C is m × n;
  /// `lda`, `ldb` and `ldc` are the row strides of A, B and C as stored.
  static func gemm(
    transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: Self,
    a: UnsafePointer<Self>, lda: Int, b: UnsafePointer<Self>, ldb: Int,
    beta: Self, c: UnsafeMutablePointer<Self>, ldc: Int)
}

/// OpenBLAS is told once, before its first product, to use the calling thread only.
private let singleThreadedBLAS: Void = openblas_set_num_threads(1)

@inline(__always)
private func transpose(_ isTransposed: Bool) -> CBLAS_TRANSPOSE {
  isTransposed ? CblasTrans : CblasNoTrans
}

extension Float: NetworkScalar {
  @inline(__always)
  public static func gemm(
    transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: Float,
    a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
    beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
  ) {
    _ = singleThreadedBLAS
    cblas_sgemm(
      CblasRowMajor, transpose(transposeA), transpose(transposeB), Int32(m), Int32(n), Int32(k), alpha,
      a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
  }
}

extension Double: NetworkScalar {
  @inline(__always)
  public static func gemm(
    transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: Double,
    a: UnsafePointer<Double>, lda: Int, b: UnsafePointer<Double>, ldb: Int,
    beta: Double, c: UnsafeMutablePointer<Double>, ldc: Int
  ) {
    _ = singleThreadedBLAS
    cblas_dgemm(
      CblasRowMajor, transpose(transposeA), transpose(transposeB), Int32(m), Int32(n), Int32(k), alpha,
      a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
  }
}

/// Which of OpenBLAS's kernels runs the products. OpenBLAS picks one when it loads, from the CPU's
/// model number; a model it does not know (Emerald Rapids, say) gets its oldest x86-64 kernel,
/// "Prescott" (SSE3), which runs a LeNet step 1.65× slower than "SkylakeX" on the same CPU. The
/// choice is fixed at load time by the environment variable `OPENBLAS_CORETYPE`, so the
/// executables ask ``preferredCore(detected:cpuFlags:)`` first and, when it names a kernel,
/// start themselves again with the variable set.
public enum OpenBLASCore {
  /// The kernel OpenBLAS chose in this process ("Prescott", "Haswell", "SkylakeX", ...).
  public static var detected: String { String(cString: openblas_get_corename()) }

  /// The feature flags of the first "flags" line of /proc/cpuinfo's text, or nil without one.
  public static func cpuFlags(cpuinfo: String) -> Set<String>? {
    guard let line = cpuinfo.split(separator: "\n").first(where: { $0.hasPrefix("flags") }) else {
      return nil
    }
    return Set(line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == ":" }).map(String.init))
  }

  /// Kernels that already use AVX2 and FMA or better.
  static let modern: Set<String> = ["haswell", "zen", "skylakex", "cooperlake", "sapphirerapids"]

  /// The kernel to ask for when OpenBLAS chose one older than the CPU's features (from
  /// /proc/cpuinfo's flags): "SkylakeX" with AVX-512 F, CD, BW, DQ and VL, else "Haswell" with AVX2
  /// and FMA; `nil` when the detected kernel is already one of those generations or the CPU has
  /// neither. A function of the CPU's features, so every host of a machine type gets the same
  /// kernel and the same bits.
  public static func preferredCore(detected: String, cpuFlags: Set<String>) -> String? {
    guard !modern.contains(detected.lowercased()) else { return nil }
    if ["avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl"].allSatisfy(cpuFlags.contains) {
      return "SkylakeX"
    }
    if ["avx2", "fma"].allSatisfy(cpuFlags.contains) { return "Haswell" }
    return nil
  }
}
