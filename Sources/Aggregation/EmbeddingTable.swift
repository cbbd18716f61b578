/// The points of one or more 2-D embeddings (a t-SNE map per variant and seed), for
/// `embeddings/<name>.csv` through ``csv``.
public struct EmbeddingTable: Sendable, Equatable {
  /// One embedding: the map of one variant's run with one seed.
  public struct Embedding: Sendable, Equatable {
    /// The variant whose data was embedded (for example `backprop`).
    public var variant: String
    /// The seed of the run (and of the map).
    public var seed: UInt64
    /// The map's points with their class labels, in the data's order.
    public var points: [ScatterPoint]

    public init(variant: String, seed: UInt64, points: [ScatterPoint]) {
      self.variant = variant
      self.seed = seed
      self.points = points
    }
  }

  /// The embeddings, written in this order.
  public var embeddings: [Embedding]

  public init(embeddings: [Embedding]) {
    self.embeddings = embeddings
  }
}
