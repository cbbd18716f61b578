import SweepModel

extension ExperimentCatalogue {
  /// Checks a sweep graph, as far as ``SweepGraph/read(yaml:file:)`` could read it, and returns its
  /// plan when neither the file nor the checks found a problem.
  ///
  /// Each stage passes the checks of a sweep (``validate(_:)-(SweepSpec.Reading)``) with its
  /// inputs set to ``GraphPlan/placeholder``; besides, every input must be a parameter its
  /// experiment takes as an input, every such parameter must be bound, and the producing stage's
  /// experiment must make the artifact named. Problems are named from the top of the file
  /// (`stages.finetune.inputs.network.artifact`).
  ///
  /// - Throws: ``SpecProblems`` listing every problem, in file order.
  public static func validate(_ reading: SweepGraph.Reading) throws(SpecProblems) -> GraphPlan {
    var problems = reading.problems
    guard let graph = reading.graph else { throw SpecProblems(problems) }
    var stageRuns: [[RunSpec]] = []
    for stage in graph.stages {
      guard var stageReading = reading.stages[stage.name] else { continue }
      // Its reading's problems are among the graph's already.
      stageReading.problems = []
      stageReading.spec = stage.sweep
      guard let family = family(named: stage.sweep.experiment) else {
        let known = all.map { $0.descriptor.name }.joined(separator: ", ")
        problems.append(
          graph.error(
            in: stage, at: "experiment", "unknown experiment '\(stage.sweep.experiment)' (known: \(known))"))
        stageRuns.append([])
        continue
      }
      let inputs = family.descriptor.inputParameters
      for input in stage.inputs {
        let field = "inputs.\(input.parameter)"
        guard let parameter = inputs.first(where: { $0.name == input.parameter }) else {
          let names = inputs.map(\.name)
          problems.append(
            graph.error(
              in: stage, at: field,
              "\(family.descriptor.name) takes no input '\(input.parameter)' (its inputs: "
                + (names.isEmpty ? "none" : names.joined(separator: ", ")) + ")"))
          continue
        }
        if case .artifact(let isList) = parameter.kind, !isList, input.selector.isList {
          problems.append(
            graph.error(
              in: stage, at: "\(field).select",
              "'\(input.parameter)' takes one artifact: select each, same-seed or member: k"))
        }
        if let producer = graph.stage(input.stage),
          let made = ExperimentCatalogue.family(named: producer.sweep.experiment)?.descriptor.artifacts,
          !made.contains(input.artifact)
        {
          problems.append(
            graph.error(
              in: stage, at: "\(field).artifact",
              "stage '\(producer.name)' (\(producer.sweep.experiment)) makes no artifact '\(input.artifact)' "
                + "(it makes \(made.isEmpty ? "none" : made.joined(separator: ", "))), so this input could never exist"
            ))
        }
      }
      let bound = inputs.filter { parameter in stage.inputs.contains { $0.parameter == parameter.name } }
      for parameter in inputs
      where !parameter.isOptionalInput && !bound.contains(where: { $0.name == parameter.name }) {
        problems.append(
          graph.error(
            in: stage, at: "inputs",
            "\(family.descriptor.name) needs the input '\(parameter.name)': add 'inputs: {\(parameter.name): "
              + "{stage: ..., artifact: ..., select: each}}'"))
      }
      for (field, parameters) in [("fixed", stage.sweep.fixed)]
        + stage.sweep.variants.map({ ("variants.\($0.name)", $0.parameters) })
      {
        for parameter in inputs where parameters[parameter.name] != nil {
          problems.append(
            graph.error(
              in: stage, at: "\(field).\(parameter.name)",
              "is an input: bind it under the stage's inputs instead of setting it"))
        }
      }
      // The sweep checks, with every input standing in as the placeholder.
      var placeheld = stageReading
      placeheld.spec!.fixed.merge(bound.map { ($0.name, ParameterValue.string(GraphPlan.placeholder)) }) {
        $1
      }
      do {
        stageRuns.append(try validate(placeheld).runs)
      } catch {
        problems += error.problems.map { $0.inStage(stage.name) }
        stageRuns.append([])
      }
    }
    guard problems.isEmpty else { throw SpecProblems(problems) }
    return GraphPlan(graph: graph, stageRuns: stageRuns)
  }
}
