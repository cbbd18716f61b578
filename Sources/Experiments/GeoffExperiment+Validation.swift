import SweepModel

extension GeoffExperiment {
  /// Builds the config, which checks the constraints between parameters.
  public static func validate(parameters: Parameters) throws {
    _ = try GeoffConfig(parameters: parameters)
  }
}
