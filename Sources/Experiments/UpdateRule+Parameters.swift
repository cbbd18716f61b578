import SweepModel
import TrainingCore

extension ParameterDeclaration {
  /// The parameters that choose an update rule of the crossprop paper, written into the rule at
  /// `rule`: `algorithm` (one of `algorithms`), `eta`, `eta_form` and `step_size`.
  public static func updateRule(
    at rule: WritableKeyPath<Config, UpdateRule> & Sendable,
    algorithms: [LearningAlgorithm] = LearningAlgorithm.allCases, algorithmDoc: String
  ) -> [Self] {
    [
      Self(
        ParameterDescriptor(
          "algorithm", .choice(algorithms.map(\.rawValue)),
          default: .string(LearningAlgorithm.backprop.rawValue),
          algorithmDoc)
      ) { config, value in
        guard case .string(let word) = value, let algorithm = LearningAlgorithm(rawValue: word) else {
          return
        }
        config[keyPath: rule].algorithm = algorithm
      },
      float(
        "eta", in: 0...1, default: 0, "Crossprop's η: weight of backprop in the mix (1 is exactly backprop)."
      ) {
        $0[keyPath: rule].eta = $1
      },
      Self(
        ParameterDescriptor(
          "eta_form", .choice(EtaForm.allCases.map(\.rawValue)), default: .string(EtaForm.paper.rawValue),
          "Where η enters the trace updates: paper (eqns 7, 8) or code (the authors' TensorFlow).")
      ) { config, value in
        guard case .string(let word) = value, let form = EtaForm(rawValue: word) else { return }
        config[keyPath: rule].etaForm = form
      },
      float("step_size", in: 1e-12...10, default: 0.0005, "α, the step size of every algorithm.") {
        $0[keyPath: rule].stepSize = $1
      },
    ]
  }

  /// The TF1 optimisers' settings of the rule at `rule`: momentum's μ, RMSProp's ρ, ε and initial
  /// accumulator, and Adam's β₁, β₂ and ε.
  public static func optimiserSettings(at rule: WritableKeyPath<Config, UpdateRule> & Sendable) -> [Self] {
    [
      float("momentum", in: 0...1, default: 0.9, "μ of momentum.") { $0[keyPath: rule].momentum = $1 },
      float("rmsprop_decay", in: 0...1, default: 0.9, "ρ of RMSProp.") {
        $0[keyPath: rule].rmspropDecay = $1
      },
      float("rmsprop_epsilon", in: 0...1, default: 1e-10, "ε of RMSProp, inside the square root.") {
        $0[keyPath: rule].rmspropEpsilon = $1
      },
      float(
        "rmsprop_initial_accumulator", in: 0...1000, default: 1.0,
        "Initial RMSProp mean square (1 in TF1; 0 in Keras/PyTorch)."
      ) { $0[keyPath: rule].rmspropInitialAccumulator = $1 },
      float("adam_beta1", in: 0...1, default: 0.9, "β₁ of Adam.") { $0[keyPath: rule].adamBeta1 = $1 },
      float("adam_beta2", in: 0...1, default: 0.999, "β₂ of Adam.") { $0[keyPath: rule].adamBeta2 = $1 },
      float("adam_epsilon", in: 0...1, default: 1e-8, "ε of Adam, outside the bias correction.") {
        $0[keyPath: rule].adamEpsilon = $1
      },
    ]
  }

  /// A real parameter held as a `Float`, written by `write`.
  private static func float(
    _ name: String, in range: ClosedRange<Double>, default value: Double, _ doc: String,
    write: @escaping @Sendable (inout Config, Float) -> Void
  ) -> Self {
    Self(ParameterDescriptor(name, .double(range), default: .double(value), doc)) { config, parameter in
      guard let x = parameter.doubleValue else { return }
      write(&config, Float(x))
    }
  }
}
