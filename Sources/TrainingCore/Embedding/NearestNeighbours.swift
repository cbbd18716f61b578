/// The leave-one-out k-nearest-neighbour classification accuracy of `labels` in `points`: the
/// fraction of points whose label wins the vote of their k nearest other points.
///
/// A number for how well classes separate in a map (or in the raw data, for comparison); van der
/// Maaten (2009, "Learning a Parametric Embedding by Preserving Local Structure") scores maps by
/// nearest-neighbour error in them likewise. Neighbours are ranked by squared Euclidean distance
/// (computed as in ``TSNE``, so a fixed function of the inputs), equal distances by smaller
/// index; the vote goes to the label with most neighbours, a tie to the smallest label. So the
/// result never depends on an arbitrary choice. Cost O(n²·D) time and O(n²) memory.
///
/// - Parameters:
///   - points: n ≥ 2 points.
///   - labels: the class of each point.
///   - k: neighbours per vote, 1 ≤ k < n. Default 5.
public func nearestNeighbourAccuracy(points: Points, labels: [Int], k: Int = 5) -> Double {
  let n = points.count
  precondition(labels.count == n, "\(labels.count) labels for \(n) points")
  precondition(k >= 1 && k < n, "k = \(k) needs 1 ≤ k < \(n)")
  let distances = TSNE.squaredDistances(points)
  var correct = 0
  // The k best (distance, index) so far, sorted ascending; insertion keeps it sorted.
  var nearest: [(distance: Double, index: Int)] = []
  nearest.reserveCapacity(k + 1)
  var votes: [(label: Int, count: Int)] = []
  for i in 0..<n {
    nearest.removeAll(keepingCapacity: true)
    for j in 0..<n where j != i {
      let distance = distances[i * n + j]
      // j rises, so among equal distances the earlier (smaller) index is already in place.
      if nearest.count == k && distance >= nearest[k - 1].distance { continue }
      var position = nearest.count
      while position > 0 && nearest[position - 1].distance > distance { position -= 1 }
      nearest.insert((distance, j), at: position)
      if nearest.count > k { nearest.removeLast() }
    }
    votes.removeAll(keepingCapacity: true)
    for neighbour in nearest {
      let label = labels[neighbour.index]
      if let slot = votes.firstIndex(where: { $0.label == label }) {
        votes[slot].count += 1
      } else {
        votes.append((label, 1))
      }
    }
    var winner = votes[0]
    for vote in votes.dropFirst()
    where vote.count > winner.count || (vote.count == winner.count && vote.label < winner.label) {
      winner = vote
    }
    if winner.label == labels[i] { correct += 1 }
  }
  return Double(correct) / Double(n)
}
