/// How ``TSNE`` embeds points. Every field has a default; together they are the settings of van
/// der Maaten's reference implementation (bhtsne's exact mode) at the crossprop paper's
/// perplexity of 20.
public struct TSNESettings: Sendable, Equatable {
  /// The perplexity each point's conditional distribution pᵢ|· is fitted to: roughly the number of
  /// neighbours it attends to. Default 20 (the crossprop paper's Fig. 4).
  public var perplexity: Double = 20
  /// How many principal components the data is projected on before anything else, as the
  /// reference implementation does (`initial_dims`); nil keeps the data as it is. Default 50.
  public var principalComponents: Int? = 50
  /// The dimensions of the map. Default 2.
  public var outputDimensions: Int = 2
  /// Gradient steps. Default 1,000.
  public var iterations: Int = 1000
  /// α, the factor on P during the first ``exaggeratedIterations`` steps, which pulls the map
  /// into tight clusters early. Default 12.
  public var earlyExaggeration: Double = 12
  /// Steps with P multiplied by ``earlyExaggeration``. Default 250.
  public var exaggeratedIterations: Int = 250
  /// η of the step Δ ← μΔ − η·gain·g, in the reference implementation's units, where g is
  /// ∂KL/∂y without its constant factor 4 (bhtsne and openTSNE leave it out; scikit-learn's
  /// 200 keeps it, so is 800 here). Default 200, which for the paper's 2,500 points is also
  /// close to the N/α rule of Belkina et al. (2019), 208.
  public var learningRate: Double = 200
  /// μ of the step during the first ``momentumSwitchIteration`` steps. Default 0.5.
  public var initialMomentum: Double = 0.5
  /// μ of the step from ``momentumSwitchIteration`` on. Default 0.8.
  public var finalMomentum: Double = 0.8
  /// The step at which μ becomes ``finalMomentum``. Default 250.
  public var momentumSwitchIteration: Int = 250
  /// The floor of each coordinate's adaptive gain (Jacobs 1988): a gain grows by 0.2 while the
  /// gradient's sign differs from the last step's, and shrinks by the factor 0.8 while they
  /// agree. Default 0.01.
  public var minimumGain: Double = 0.01
  /// The standard deviation of the initial map's coordinates, drawn N(0, σ²) from the stream
  /// `"tsne"`. Default 1e-4, as `.0001 * randn` in the reference code (the paper's
  /// "N(0, 10⁻⁴I)" reads as a variance; either way the map starts as a speck).
  public var initialStandardDeviation: Double = 1e-4
  /// The precision βᵢ of each point's Gaussian is searched until the entropy of pᵢ|· is within
  /// this many nats of log(perplexity). Default 1e-5.
  public var entropyTolerance: Double = 1e-5
  /// The most bisection steps of each point's βᵢ search. Default 50.
  public var maximumSearchSteps: Int = 50

  public init() {}

  public init(_ configure: (inout TSNESettings) -> Void) {
    configure(&self)
  }
}
