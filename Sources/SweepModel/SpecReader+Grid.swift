import Yams

/// Reading `grid:`, the cartesian product of parameter values (see ``SweepSpec``).
extension SpecReader {
  /// One parameter of a grid and the values it takes, in file order.
  struct GridAxis {
    var name: String
    var values: [ParameterValue]
    /// Where the parameter's key was written.
    var key: Node
  }

  /// The axes of `grid:` in file order; nil, with the problems reported, when any is wrong (a
  /// partial grid would silently run other combinations than the file asks for).
  mutating func grid(_ node: Node) -> [GridAxis]? {
    let example = "grid: {algorithm: [crossprop, backprop], eta: [0, 0.5]}"
    guard case .mapping(let mapping) = node, !mapping.isEmpty else {
      report(
        error(
          "grid", at: node,
          "must map parameters to lists of values, like '\(example)'; got \(Self.describe(node))"))
      return nil
    }
    var axes: [GridAxis] = []
    var isComplete = true
    for (keyNode, body) in pairs(of: mapping, field: "grid") {
      do throws(SpecError) {
        let name = try keyText(keyNode, in: "grid")
        guard !name.isEmpty, name.utf8.allSatisfy(Self.isParameterNameByte) else {
          throw error(
            "grid", at: keyNode, "parameter name '\(Self.excerpt(name))' must use only a-z, 0-9 and '_'")
        }
        let field = "grid.\(name)"
        guard !axes.contains(where: { $0.name == name }) else {
          throw error(field, at: keyNode, "set twice; keep one")
        }
        record(field, at: keyNode)
        // A single value is a grid of one point: `--set grid.eta=0.5` narrows a grid.
        let items: [Node]
        if case .sequence(let list) = body { items = Array(list) } else { items = [body] }
        guard !items.isEmpty else {
          throw error(field, at: body, "the list is empty; give at least one value, like [0, 0.5]")
        }
        var values: [ParameterValue] = []
        for item in items {
          let value = try parameterValue(item, field: field)
          guard !values.contains(value) else {
            throw error(field, at: item, "\(value) is listed twice; each value may appear once")
          }
          values.append(value)
        }
        axes.append(GridAxis(name: name, values: values, key: keyNode))
      } catch {
        report(error)
        isComplete = false
      }
    }
    return isComplete ? axes : nil
  }

  /// Each of `named` (one unnamed variant when the file has only a grid) with each point of the
  /// grid, named variant-major, the grid's first parameter varying slowest. Nil, with the problem
  /// reported, when there would be more variants than a sweep may have runs. `aliases` gets the
  /// file's field for every generated one.
  mutating func combine(_ named: Variants, with grid: [GridAxis], aliases: inout [String: String])
    -> Variants?
  {
    var count = named.read.count
    for axis in grid {
      count = count.multipliedReportingOverflow(by: axis.values.count).partialValue
      guard count <= SweepSpec.maximumRunCount else {
        report(
          error(
            "grid", at: axis.key,
            "makes more than \(SweepSpec.maximumRunCount) variants, more than one sweep may run; "
              + "split it into several sweeps"))
        return nil
      }
    }
    var points: [[(String, ParameterValue)]] = [[]]
    for axis in grid {
      points = points.flatMap { point in axis.values.map { point + [(axis.name, $0)] } }
    }
    var out = Variants(read: [], incomplete: [], isMissingSome: named.isMissingSome)
    for variant in named.read {
      let clashes = grid.filter { variant.parameters[$0.name] != nil }
      for axis in clashes {
        let field = "variants.\(variant.name).\(axis.name)"
        report(
          SpecError(
            file: file, location: locations[field], field: field,
            message: "is also a parameter of the grid (grid.\(axis.name)); set it in one place"))
      }
      guard clashes.isEmpty else {
        out.isMissingSome = true  // its combinations would only repeat the problem
        continue
      }
      for point in points {
        let words = point.map { "\($0.0)=\(Self.nameText($0.1))" }
        let name = ([variant.name].filter { !$0.isEmpty } + words).joined(separator: " ")
        var parameters = variant.parameters
        for (key, value) in point { parameters[key] = value }
        aliases["variants.\(name)"] = variant.name.isEmpty ? "grid" : "variants.\(variant.name)"
        for key in parameters.keys {
          aliases["variants.\(name).\(key)"] =
            point.contains { $0.0 == key } ? "grid.\(key)" : "variants.\(variant.name).\(key)"
        }
        out.read.append(SweepSpec.Variant(name: name, parameters: parameters))
        if named.incomplete.contains(variant.name) { out.incomplete.insert(name) }
      }
    }
    return out
  }

  /// A value as a generated variant name shows it: words unquoted, numbers as the canonical form.
  private static func nameText(_ value: ParameterValue) -> String {
    if case .string(let text) = value { return text }
    return value.canonicalJSON
  }
}
