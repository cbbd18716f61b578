import SweepModel

/// The bytes of the artifacts a run consumes, by SHA-256: what a worker fetched, verified and hands
/// to ``Experiment/run(parameters:seed:inputs:)``.
public struct ArtifactInputs: Sendable {
  /// Each artifact's bytes, keyed by its SHA-256 (lower-case hex).
  public var bytes: [String: [UInt8]]

  public init(bytes: [String: [UInt8]] = [:]) { self.bytes = bytes }

  /// The artifacts the input parameter `name` names, in its order.
  /// - Throws: ``ExperimentError`` when the parameter holds no hash or a hash was not handed over.
  public func artifacts(of name: String, in parameters: Parameters, experiment: String) throws -> [[UInt8]] {
    guard case .string(let text) = parameters[name], !text.isEmpty else {
      throw ExperimentError(
        message: "\(experiment): the input '\(name)' is not set; run it as a stage of a sweep graph.")
    }
    return try text.split(separator: ",").map { hash in
      guard let artifact = bytes[String(hash)] else {
        throw ExperimentError(
          message: "\(experiment): the artifact \(hash.prefix(12)) of input '\(name)' is missing.")
      }
      return artifact
    }
  }

  /// The one artifact the input parameter `name` names.
  public func artifact(of name: String, in parameters: Parameters, experiment: String) throws -> [UInt8] {
    let list = try artifacts(of: name, in: parameters, experiment: experiment)
    guard list.count == 1 else {
      throw ExperimentError(
        message: "\(experiment): the input '\(name)' takes one artifact, got \(list.count).")
    }
    return list[0]
  }
}
