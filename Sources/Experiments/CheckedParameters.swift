import SweepModel

/// An experiment's parameters completed with defaults and checked against its descriptor, read
/// back as typed values: what every config struct's `init(parameters:)` starts from.
public struct CheckedParameters: Sendable {
  private let values: Parameters

  /// Completes `parameters` with `descriptor`'s defaults and checks each one.
  /// - Throws: ``ExperimentError`` naming the experiment, the parameter and the problem.
  public init(_ parameters: Parameters, descriptor: ExperimentDescriptor) throws {
    values = ExperimentCatalogue.completed(parameters, descriptor: descriptor)
    for p in descriptor.parameters {
      if let problem = p.problem(with: values[p.name]!) {
        throw ExperimentError(message: "\(descriptor.name) parameter \(p.name): \(problem)")
      }
    }
  }

  /// A number parameter (an integer is widened).
  public func double(_ name: String) -> Double { values[name]!.doubleValue! }

  /// A whole-number parameter.
  public func int(_ name: String) -> Int {
    if case .int(let n) = values[name]! { return n }
    preconditionFailure("\(name) was checked as an int")
  }

  /// A choice parameter.
  public func word(_ name: String) -> String {
    if case .string(let s) = values[name]! { return s }
    preconditionFailure("\(name) was checked as a choice")
  }

  /// A switch parameter.
  public func bool(_ name: String) -> Bool {
    if case .bool(let b) = values[name]! { return b }
    preconditionFailure("\(name) was checked as a bool")
  }
}
