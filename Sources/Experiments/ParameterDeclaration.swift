import SweepModel

/// One parameter of an experiment family, declared once: its name, allowed values, default and
/// meaning (what `metasweep experiments` lists, what validation checks, and what run keys are
/// completed with), and where its value goes in the family's typed configuration.
///
/// ```swift
/// .float("step_size", \.run.learner.stepSize, in: 1e-12...10, default: 0.0005, "α of every algorithm.")
/// ```
///
/// A default is declared as the value a sweep file would hold (`0.0005`, not `Float(0.0005)`), so
/// the canonical parameters, and the run keys hashed from them, are the sweep file's.
public struct ParameterDeclaration<Config>: Sendable {
  /// The parameter's name, kind, default and documentation.
  public let descriptor: ParameterDescriptor
  /// Writes a checked value into a configuration.
  let assign: @Sendable (inout Config, ParameterValue) -> Void

  /// A parameter whose value `assign` writes into a configuration; `assign` gets values that
  /// `descriptor` accepts (numbers of a `.double` kind may be integers).
  public init(
    _ descriptor: ParameterDescriptor, assign: @escaping @Sendable (inout Config, ParameterValue) -> Void
  ) {
    self.descriptor = descriptor
    self.assign = assign
  }

  /// A whole number in `range`, written to every one of `fields`.
  public static func int(
    _ name: String, _ fields: WritableKeyPath<Config, Int> & Sendable..., in range: ClosedRange<Int>,
    default value: Int, _ doc: String
  ) -> Self {
    Self(ParameterDescriptor(name, .int(range), default: .int(value), doc)) { config, parameter in
      guard case .int(let n) = parameter else { return }
      for field in fields { config[keyPath: field] = n }
    }
  }

  /// A real number in `range` (an integer is widened), written to every one of `fields`.
  public static func double(
    _ name: String, _ fields: WritableKeyPath<Config, Double> & Sendable..., in range: ClosedRange<Double>,
    default value: Double, _ doc: String
  ) -> Self {
    Self(ParameterDescriptor(name, .double(range), default: .double(value), doc)) { config, parameter in
      guard let x = parameter.doubleValue else { return }
      for field in fields { config[keyPath: field] = x }
    }
  }

  /// A real number in `range` held as a `Float` by the training core: the sweep file's number,
  /// rounded once.
  public static func float(
    _ name: String, _ fields: WritableKeyPath<Config, Float> & Sendable..., in range: ClosedRange<Double>,
    default value: Double, _ doc: String
  ) -> Self {
    Self(ParameterDescriptor(name, .double(range), default: .double(value), doc)) { config, parameter in
      guard let x = parameter.doubleValue else { return }
      for field in fields { config[keyPath: field] = Float(x) }
    }
  }

  /// One of the cases of `Choice`, by its raw value.
  public static func choice<Choice: RawRepresentable & CaseIterable & Sendable>(
    _ name: String, _ field: WritableKeyPath<Config, Choice> & Sendable, default value: Choice, _ doc: String
  ) -> Self where Choice.RawValue == String {
    Self(
      ParameterDescriptor(
        name, .choice(Choice.allCases.map(\.rawValue)), default: .string(value.rawValue), doc)
    ) { config, parameter in
      guard case .string(let word) = parameter, let choice = Choice(rawValue: word) else { return }
      config[keyPath: field] = choice
    }
  }

  /// Text, checked by the family's ``ExperimentConfig/check()``.
  public static func text(
    _ name: String, _ field: WritableKeyPath<Config, String> & Sendable, default value: String, _ doc: String
  ) -> Self {
    Self(ParameterDescriptor(name, .text, default: .string(value), doc)) { config, parameter in
      guard case .string(let text) = parameter else { return }
      config[keyPath: field] = text
    }
  }

  /// `true` or `false`.
  public static func bool(
    _ name: String, _ field: WritableKeyPath<Config, Bool> & Sendable, default value: Bool, _ doc: String
  ) -> Self {
    Self(ParameterDescriptor(name, .bool, default: .bool(value), doc)) { config, parameter in
      guard case .bool(let b) = parameter else { return }
      config[keyPath: field] = b
    }
  }
}

extension ParameterDeclaration {
  /// This artifact input, optional: a graph stage may leave it unbound
  /// (``ParameterDescriptor/isOptionalInput``).
  public func optionalInput() -> Self {
    var descriptor = descriptor
    descriptor.isOptionalInput = true
    return Self(descriptor, assign: assign)
  }

  /// The declaration of a parameter added after runs of its family were journaled: at its
  /// default it stays out of run keys, so those runs keep theirs (``ParameterDescriptor/isKeyedAtDefault``).
  public func keyedOnlyWhenSet() -> Self {
    var descriptor = descriptor
    descriptor.isKeyedAtDefault = false
    return Self(descriptor, assign: assign)
  }
}

/// The typed configuration of an experiment family, filled in from its parameter declarations.
///
/// Each parameter is declared once, in ``parameters``; the family's descriptor lists them, and
/// ``init(parameters:)`` checks a run's parameters against them, completes them with their
/// defaults and writes them into a configuration, which ``check()`` then checks as a whole.
public protocol ExperimentConfig: Sendable {
  /// The family's name, for messages.
  static var experimentName: String { get }
  /// Every parameter, in the order `metasweep experiments` lists them.
  static var parameters: [ParameterDeclaration<Self>] { get }
  /// The configuration the declarations fill in.
  init()
  /// Checks what one parameter alone cannot (`tail_examples` at most `examples_per_task`).
  /// - Throws: ``ExperimentError`` saying what to change.
  func check() throws
}

extension ExperimentConfig {
  /// No constraints between parameters.
  public func check() throws {}

  /// The descriptors of ``parameters``, for the family's ``ExperimentDescriptor``.
  public static var parameterDescriptors: [ParameterDescriptor] { parameters.map(\.descriptor) }

  /// The configuration of a run: each parameter checked, a missing one taking its default.
  /// - Throws: ``ExperimentError`` naming the experiment, the parameter and what to change.
  public init(parameters values: Parameters) throws {
    self.init()
    for declaration in Self.parameters {
      let descriptor = declaration.descriptor
      let value = values[descriptor.name] ?? descriptor.defaultValue
      if let problem = descriptor.problem(with: value) {
        throw ExperimentError(message: "\(Self.experimentName) parameter \(descriptor.name): \(problem)")
      }
      declaration.assign(&self, value)
    }
    try check()
  }
}
