#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Runs `Float` arithmetic with subnormal numbers flushed to zero, as TensorFlow 1's CPU kernels
/// did (they set x86's flush-to-zero and denormals-are-zero modes on every thread).
///
/// A step of the image classifier multiplies tiny gradients (a saturated tanh unit's 1 − φ² times
/// a small output error, then x_i, then squared for RMSProp and Adam) whose products fall below
/// 2⁻¹²⁶. Without these modes every such operation takes a microcode assist of about a hundred
/// cycles: on Fashion-MNIST they tripled Adam's and RMSProp's time per example. The modes belong to
/// the thread, so `withSubnormalsFlushed` sets them for `body` alone and restores the caller's.
/// Results stay a pure function of the inputs: the modes are part of the arithmetic's definition,
/// the same on every x86-64 host.
///
/// Only x86-64 Linux is switched; elsewhere `body` runs with the platform's default arithmetic (results
/// are bit-identical per machine type, not across architectures).
public enum SubnormalFlushing {
  /// MXCSR's flush-to-zero (bit 15) and denormals-are-zero (bit 6) flags.
  private static let x86Modes: UInt32 = 0x8040

  /// `body`'s result, computed with subnormal inputs and results of `Float` and `Double`
  /// operations replaced by zero; the thread's previous modes are restored afterwards.
  @inline(__always)
  public static func withSubnormalsFlushed<Result>(_ body: () throws -> Result) rethrows -> Result {
    #if arch(x86_64) && canImport(Glibc)
      var saved = fenv_t()
      fegetenv(&saved)
      var flushing = saved
      flushing.__mxcsr |= x86Modes
      fesetenv(&flushing)
      defer { fesetenv(&saved) }
      return try body()
    #else
      return try body()
    #endif
  }
}
