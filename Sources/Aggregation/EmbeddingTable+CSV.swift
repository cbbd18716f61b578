extension EmbeddingTable {
  /// `x,y,label,variant,seed`, then one line per point, embedding after embedding in order and
  /// each embedding's points in order. Coordinates are the shortest text that reads back to the
  /// same `Double` (`NaN`, `inf`, `-inf` for the rest), so the file is exact and deterministic;
  /// a variant name with a comma, quote or line break is quoted.
  public var csv: String {
    var out = "x,y,label,variant,seed\n"
    for embedding in embeddings {
      let suffix = "," + csvField(embedding.variant) + "," + String(embedding.seed) + "\n"
      for point in embedding.points {
        out +=
          ReportNumber.exact(point.x) + "," + ReportNumber.exact(point.y) + "," + String(point.label) + suffix
      }
    }
    return out
  }
}
