/// Everything found wrong with a sweep file, in file order, so that one round of edits can fix it.
///
/// Printed one problem per line (each a ``SpecError``), at most ``printedLimit`` of them, then a
/// line counting the rest.
public struct SpecProblems: Error, Sendable, Equatable, CustomStringConvertible {
  /// The most problems ``description`` lists before it counts the rest.
  public static let printedLimit = 20

  /// The problems by line, then column. Problems without a place (about the whole file) come first;
  /// problems at the same place keep the order they were found in.
  public let problems: [SpecError]

  /// Sorts `problems` into file order, each said once (the variants of a grid share the value a
  /// problem is about). Thrown only with at least one problem.
  public init(_ problems: [SpecError]) {
    func place(_ error: SpecError) -> (Int, Int) {
      error.location.map { ($0.line, $0.column) } ?? (0, 0)
    }
    var seen = Set<String>()
    let distinct = problems.filter { seen.insert($0.description).inserted }
    self.problems = distinct.enumerated().sorted { a, b in
      let (p, q) = (place(a.element), place(b.element))
      return p != q ? p < q : a.offset < b.offset
    }.map(\.element)
  }

  /// One problem.
  public init(_ problem: SpecError) {
    self.problems = [problem]
  }

  /// One line per problem (`sweep.yaml:12:5: variants.adam.step_size: must be positive, got -0.1`),
  /// and past ``printedLimit``, a last line saying how many more there are.
  public var description: String {
    var lines = problems.prefix(Self.printedLimit).map(\.description)
    if problems.count > Self.printedLimit {
      let rest = problems.count - Self.printedLimit
      lines.append(
        "\(problems[0].file): and \(rest) more problem\(rest == 1 ? "" : "s"); fix these and run again to see them"
      )
    }
    return lines.joined(separator: "\n")
  }
}
