import SweepModel

extension ExperimentCatalogue {
  /// Checks `spec` against its family (see the `validate` that takes a ``SweepSpec/Reading``);
  /// returns the runs with their parameters completed with defaults (the form hashed into run keys).
  ///
  /// - Throws: ``SpecProblems`` listing every problem, in file order.
  public static func validate(_ spec: SweepSpec) throws(SpecProblems) -> [RunSpec] {
    try validate(SweepSpec.Reading(spec: spec)).runs
  }

  /// Checks a sweep file, as far as ``SweepSpec/read(yaml:file:)`` could read it, against its
  /// experiment family, and returns the spec and its runs when neither the file nor the checks
  /// found a problem.
  ///
  /// The checks: every parameter is one the family has, with a value it accepts; each variant's
  /// parameters, completed with defaults, pass the family's checks between parameters
  /// (``Experiment/validate(parameters:)``), are resolved (``Experiment/resolve(parameters:)``:
  /// a dataset's hash filled in) and differ from every other variant's (or their runs
  /// would be the same runs); every metric and curve asked for is one that at least one run of the
  /// sweep reports (``Experiment/metrics(for:)``, ``Experiment/series(for:)``).
  ///
  /// - Throws: ``SpecProblems`` listing the file's problems and these checks', in file order.
  public static func validate(_ reading: SweepSpec.Reading) throws(SpecProblems) -> (
    sweep: SweepSpec, runs: [RunSpec]
  ) {
    var problems = reading.problems
    guard let spec = reading.spec else { throw SpecProblems(problems) }
    guard let family = family(named: spec.experiment) else {
      let known = all.map { $0.descriptor.name }.joined(separator: ", ")
      problems.append(
        spec.error(at: "experiment", "unknown experiment '\(spec.experiment)' (known: \(known))"))
      throw SpecProblems(problems)
    }
    let descriptor = family.descriptor
    // Inputs come from other stages' artifacts: only a graph binds them (``validate(_:)-(SweepGraph.Reading)``
    // sets them in `fixed` before these checks).
    let unbound = descriptor.inputParameters.filter { !$0.isOptionalInput }.map(\.name).filter {
      spec.fixed[$0] == nil
    }
    if !unbound.isEmpty {
      problems.append(
        spec.error(
          at: "experiment",
          "\(descriptor.name) consumes other runs' artifacts (input \(unbound.joined(separator: ", "))): run it as a "
            + "stage of a sweep graph and bind it under the stage's inputs in a sweep graph"))
      throw SpecProblems(problems)
    }

    // Parameters one at a time. A variant with a wrong parameter (or all, for a wrong fixed one)
    // is left out of the checks below, which would otherwise report the same mistake again.
    var incomplete = reading.incompleteVariants
    if !check(spec.fixed, against: descriptor, spec: spec, prefix: "fixed", into: &problems) {
      incomplete.formUnion(spec.variants.map(\.name))
    }
    for variant in spec.variants
    where !check(
      variant.parameters, against: descriptor, spec: spec, prefix: "variants.\(variant.name)", into: &problems
    ) {
      incomplete.insert(variant.name)
    }

    // Whole runs. Each variant's parameters are completed once; its runs share them.
    var variantParameters: [Parameters] = []
    var variantWith: [Parameters: String] = [:]
    var reportedMetrics: Set<String> = []
    var reportedSeries: Set<String> = []
    var resolveProblems: Set<String> = []
    for variant in spec.variants where !incomplete.contains(variant.name) {
      var parameters = completed(
        family.placed(spec.fixed.merging(variant.parameters) { _, new in new }, sweepFile: spec.file),
        descriptor: descriptor)
      do {
        try family.validate(parameters: parameters)
        do {
          parameters = try family.resolve(parameters: parameters)
        } catch {
          // Said once, not for every variant that reads the same missing dataset.
          if resolveProblems.insert("\(error)").inserted {
            problems.append(spec.error(at: "variants.\(variant.name)", "\(error)"))
          }
        }
      } catch {
        problems.append(spec.error(at: "variants.\(variant.name)", "\(error)"))
      }
      variantParameters.append(parameters)
      // Equal completed parameters make runs with equal keys. Values compare as numbers, so 0.0 and
      // -0.0 (different keys, the same runs in practice) count as equal too.
      if let first = variantWith[parameters] {
        problems.append(duplicateError(variant.name, first: first, spec: spec))
      } else {
        variantWith[parameters] = variant.name
      }
      reportedMetrics.formUnion(family.metrics(for: parameters))
      reportedSeries.formUnion(family.series(for: parameters))
    }

    // Metrics and curves. Whether some run reports one is known only when every run is.
    let isEveryRunKnown = incomplete.isEmpty && !reading.isMissingVariants
    for (field, names, offered, reported) in [
      ("metrics", spec.metrics, descriptor.metrics, reportedMetrics),
      ("curves", spec.curves, descriptor.series, reportedSeries),
    ] {
      let what = field == "metrics" ? "metric" : "series"
      for name in names {
        let location = spec.locations["\(field).\(name)"] ?? spec.locations[field]
        func problem(_ message: String) -> SpecError {
          SpecError(file: spec.file, location: location, field: field, message: message)
        }
        if descriptor.acceptsOtherParameters {
          continue  // a user's program: what it reports is known only when its runs report it
        } else if !offered.contains(name) {
          problems.append(
            problem("unknown \(what) '\(name)' (\(descriptor.name) reports \(abbreviated(offered)))"))
        } else if isEveryRunKnown && !reported.contains(name) {
          let reportedInOrder = offered.filter(reported.contains)
          problems.append(
            problem(
              "no run of this sweep reports '\(name)': with these parameters, \(descriptor.name) reports "
                + (reportedInOrder.isEmpty ? "no \(what)" : abbreviated(reportedInOrder))))
        }
      }
    }

    guard problems.isEmpty else { throw SpecProblems(problems) }
    // Every variant is in `variantParameters` now: one left out comes with a problem.
    var runs = spec.expand()
    for index in runs.indices { runs[index].parameters = variantParameters[index / spec.seeds.count] }
    return (spec, runs)
  }

  /// Checks each parameter against the family's descriptor, adding a problem for each one that is
  /// unknown or out of range; returns whether all were fine.
  private static func check(
    _ parameters: Parameters, against descriptor: ExperimentDescriptor, spec: SweepSpec, prefix: String,
    into problems: inout [SpecError]
  ) -> Bool {
    var isFine = true
    for name in parameters.keys.sorted() {
      let path = "\(prefix).\(name)"
      guard let p = descriptor.parameter(name) else {
        if descriptor.acceptsOtherParameters { continue }
        let known = descriptor.parameters.map(\.name).joined(separator: ", ")
        problems.append(
          spec.error(at: path, "unknown parameter '\(name)' for \(descriptor.name) (known: \(known))"))
        isFine = false
        continue
      }
      if let problem = p.problem(with: parameters[name]!) {
        problems.append(spec.error(at: path, problem))
        isFine = false
      }
    }
    return isFine
  }

  /// The error for variant `name`, whose completed parameters equal those of the earlier variant `first`.
  private static func duplicateError(_ name: String, first: String, spec: SweepSpec) -> SpecError {
    let place = spec.locations["variants.\(first)"].map { " (line \($0.line))" } ?? ""
    return spec.error(
      at: "variants.\(name)",
      "has the same parameters as variant '\(first)'\(place) once defaults are filled in, so its runs would "
        + "be the same runs; change a parameter or remove one of the two")
  }

  /// `names` in a list for a message, with each run of three or more numbered names written as its
  /// ends: `error_task1..error_task3, u_drift_task1..u_drift_task3, seed`.
  public static func abbreviated(_ names: [String]) -> String {
    /// `("error_task", 3)` for `error_task3`.
    func split(_ name: String) -> (stem: Substring, number: Int)? {
      let digits = name.reversed().prefix { $0.isASCII && $0.isNumber }.count
      guard digits > 0, digits < name.count, let number = Int(name.suffix(digits)) else { return nil }
      return (name.dropLast(digits), number)
    }
    var parts: [String] = []
    var start = 0
    while start < names.count {
      var end = start + 1
      if let first = split(names[start]) {
        while end < names.count, let next = split(names[end]), next.stem == first.stem,
          next.number == first.number + (end - start)
        {
          end += 1
        }
      }
      if end - start >= 3 {
        parts.append("\(names[start])..\(names[end - 1])")
      } else {
        parts += names[start..<end]
      }
      start = end
    }
    return parts.joined(separator: ", ")
  }
}
