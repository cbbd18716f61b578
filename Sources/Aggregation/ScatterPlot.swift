/// One point of a ``ScatterPlot``: its position and the index of its class.
public struct ScatterPoint: Sendable, Equatable {
  /// The horizontal coordinate, in the data's units.
  public var x: Double
  /// The vertical coordinate, in the data's units.
  public var y: Double
  /// The point's class: an index into ``ScatterPlot/classNames``.
  public var label: Int

  public init(x: Double, y: Double, label: Int) {
    self.x = x
    self.y = y
    self.label = label
  }
}

/// Points coloured by class, such as a t-SNE map of hidden activations (the crossprop paper's
/// Fig. 4); ``svg(settings:)`` draws it.
public struct ScatterPlot: Sendable, Equatable {
  /// The figure's title.
  public var title: String
  /// A second line under the title (for example the k-NN accuracy in the map); nil for none.
  public var subtitle: String?
  /// The name of each class, by label: `classNames[2]` names the points with label 2, and the
  /// legend lists them in this order. Points whose label has no name are drawn grey, as "other".
  public var classNames: [String]
  /// The points, drawn in this order (later points on top).
  public var points: [ScatterPoint]

  public init(title: String, subtitle: String? = nil, classNames: [String], points: [ScatterPoint]) {
    self.title = title
    self.subtitle = subtitle
    self.classNames = classNames
    self.points = points
  }
}

/// How ``ScatterPlot/svg(settings:)`` draws a figure. Every field has a default.
public struct ScatterPlotSettings: Sendable, Equatable {
  /// Width of the whole figure in pixels. Default 720.
  public var width: Double = 720
  /// Height of the whole figure in pixels. Default 600.
  public var height: Double = 600
  /// Radius of each point in pixels. Default 2.2.
  public var pointRadius: Double = 2.2
  /// Opacity of each point, so dense regions read darker. Default 0.75.
  public var pointOpacity: Double = 0.75
  /// The horizontal axis label. Default `"t-SNE 1"`.
  public var xLabel: String = "t-SNE 1"
  /// The vertical axis label. Default `"t-SNE 2"`.
  public var yLabel: String = "t-SNE 2"
  /// Whether one unit spans the same pixels on both axes, as a map's distances need. Default true.
  public var hasEqualAspect: Bool = true

  public init() {}

  public init(_ configure: (inout ScatterPlotSettings) -> Void) {
    configure(&self)
  }
}
