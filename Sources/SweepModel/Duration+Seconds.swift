extension Duration {
  /// The duration in seconds, as a `Double` (rates, ETAs, reported run times).
  public var inSeconds: Double {
    Double(components.seconds) + Double(components.attoseconds) * 1e-18
  }
}
