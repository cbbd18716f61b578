/// How weight drift is reported.
public enum NormConvention: String, Sendable, Equatable, CaseIterable {
  /// ‖·‖₂, the Euclidean norm (default).
  case l2
  /// ‖·‖₂², its square, as the authors' code stored it.
  case squared

  /// The reported drift for a squared norm `squaredNorm`.
  @inline(__always) public func drift(squaredNorm: Double) -> Double {
    self == .l2 ? squaredNorm.squareRoot() : squaredNorm
  }
}
