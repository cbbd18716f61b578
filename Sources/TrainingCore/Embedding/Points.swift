/// `count` points of `dimensions` coordinates each, stored row-major in one contiguous buffer.
///
/// Point i's coordinates are `coordinates[i * dimensions ..< (i + 1) * dimensions]`. This is the
/// currency of the embedding code: ``PrincipalComponents`` and ``TSNE`` take and return it, and
/// ``nearestNeighbourAccuracy(points:labels:k:)`` scores it.
public struct Points: Sendable, Equatable {
  /// Every coordinate, point after point.
  public var coordinates: [Double]
  /// How many coordinates each point has (at least 1).
  public let dimensions: Int

  /// Points whose row-major coordinates are `coordinates`; its count must be a multiple of
  /// `dimensions`.
  public init(coordinates: [Double], dimensions: Int) {
    precondition(dimensions >= 1, "Points need at least one dimension")
    precondition(
      coordinates.count % dimensions == 0,
      "\(coordinates.count) coordinates do not split into points of \(dimensions)")
    self.coordinates = coordinates
    self.dimensions = dimensions
  }

  /// Points from `Float` coordinates (a network's activations), each widened exactly to `Double`.
  public init(widening coordinates: [Float], dimensions: Int) {
    self.init(coordinates: coordinates.map { Double($0) }, dimensions: dimensions)
  }

  /// The number of points.
  public var count: Int { coordinates.count / dimensions }

  /// Coordinate `dimension` of point `point`.
  public subscript(point: Int, dimension: Int) -> Double {
    get { coordinates[point * dimensions + dimension] }
    set { coordinates[point * dimensions + dimension] = newValue }
  }

  /// The coordinates of point `point`.
  public func point(_ point: Int) -> ArraySlice<Double> {
    coordinates[point * dimensions..<(point + 1) * dimensions]
  }
}
