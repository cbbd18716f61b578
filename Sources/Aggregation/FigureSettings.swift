/// How ``CurveTable/svg(settings:)`` draws a figure. Every field has a default.
public struct FigureSettings: Sendable, Equatable {
  /// How the y axis is scaled.
  public enum YScale: Sendable, Equatable {
    /// Logarithmic when every mean is positive and they span at least a factor of 20 (a learning
    /// curve of an error), linear otherwise.
    case automatic
    case linear
    /// Logarithmic; falls back to linear when some mean is not positive.
    case logarithmic
  }

  /// Width of the whole figure in pixels. Default 800.
  public var width: Double = 800
  /// Height of the whole figure in pixels. Default 480.
  public var height: Double = 480
  /// The y scale. Default `.automatic`.
  public var yScale: YScale = .automatic
  /// The x axis label. Default `"x"`; the CLI passes what the experiment's series count (`examples`).
  public var xLabel: String = "x"
  /// The figure title; nil (the default) uses the series name.
  public var title: String? = nil
  /// The y axis label; nil (the default) uses the series name.
  public var yLabel: String? = nil
  /// x values to mark with dashed vertical lines (task switches). Default none.
  public var marks: [Double] = []
  /// What the marks are, written above the plot's right corner (`dashed: task switches`).
  public var marksLabel: String? = nil

  public init() {}

  public init(_ configure: (inout FigureSettings) -> Void) {
    configure(&self)
  }
}
