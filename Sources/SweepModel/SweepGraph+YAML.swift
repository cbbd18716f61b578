import Yams

/// Reading a sweep graph: a sweep file whose top level has `stages:` (see ``SweepGraph``).
extension SweepGraph {
  /// The keys a graph file may have at its top level.
  public static let topLevelKeys = ["name", "stages", "description", SweepOverrides.key]

  /// The keys of one input (`inputs: {network: {stage: pretrain, artifact: network, select: each}}`).
  public static let inputKeys = ["stage", "artifact", "select", "member", "variant"]

  /// What reading a graph file found: the graph (when its shape allowed one), every problem, and
  /// each stage's reading for the checks against its experiment.
  public struct Reading: Sendable {
    public var graph: SweepGraph?
    public var problems: [SpecError]
    /// Each stage's sweep as read, by stage name (its problems are in ``problems`` already).
    public var stages: [String: SweepSpec.Reading]
  }

  /// Reads `yaml` as a graph, or returns nil when it is a plain sweep file (no top-level `stages`),
  /// or not a mapping at all (the sweep reader says what is wrong then).
  public static func read(yaml: String, file: String) -> Reading? {
    guard case .success(let composed?) = SweepSpec.compose(yaml: yaml, file: file),
      case (let root, let applied, let overrideProblems) = SweepOverrides.apply(to: composed, file: file),
      case .mapping(let top) = root, top.keys.contains(where: { $0.scalar?.string == "stages" })
    else { return nil }
    var reader = SpecReader(file: file)
    reader.problems = overrideProblems
    var name: String?
    var stages: [Stage] = []
    var readings: [String: SweepSpec.Reading] = [:]
    var written: Set<String> = []
    for (keyNode, value) in reader.pairs(of: top, field: "") {
      do throws(SpecError) {
        let key = try reader.keyText(keyNode, in: "")
        guard topLevelKeys.contains(key) else {
          throw reader.error(
            "", at: keyNode,
            "unknown key '\(SpecReader.excerpt(key))' in a sweep graph (expected one of "
              + "\(topLevelKeys.joined(separator: ", "))); experiment, seeds, fixed and variants go in a stage"
          )
        }
        written.insert(key)
        switch key {
        case "name": name = try reader.sweepName(value)
        case SweepOverrides.key: break  // applied already
        case "stages":
          guard case .mapping(let mapping) = value, !mapping.isEmpty else {
            throw reader.error(
              "stages", at: value,
              "must map stage names to stages, like 'stages: {pretrain: {experiment: image-pretrain, seeds: 8}}'"
            )
          }
          for (stageKey, body) in reader.pairs(of: mapping, field: "stages") {
            do throws(SpecError) {
              let stageName = try reader.keyText(stageKey, in: "stages")
              guard isStageName(stageName) else {
                throw reader.error(
                  "stages", at: stageKey,
                  "stage name '\(SpecReader.excerpt(stageName))' must use only A-Z, a-z, 0-9, '.', '_' and '-'"
                )
              }
              guard !stages.contains(where: { $0.name == stageName }) else {
                throw reader.error("stages.\(stageName)", at: stageKey, "appears twice; rename one")
              }
              guard case .mapping(let stageTop) = body else {
                throw reader.error(
                  "stages.\(stageName)", at: body,
                  "must be a mapping with experiment:, seeds: and variants:, got \(SpecReader.describe(body))"
                )
              }
              var stageReading = SweepSpec.readBody(top: stageTop, root: body, file: file, stage: stageName)
              let fields = SweepOverrides.fields(applied, under: ["stages", stageName])
              stageReading.spec?.overriddenFields = fields
              stageReading.problems = SweepOverrides.attributing(stageReading.problems, to: fields).map {
                $0.inStage(stageName)
              }
              reader.problems += stageReading.problems
              guard var sweep = stageReading.spec else { continue }
              sweep.locations[""] = SpecReader.location(of: stageKey)
              var stage = Stage(name: stageName, sweep: sweep)
              var stageReader = SpecReader(file: file)
              for (fieldKey, fieldValue) in stageReader.pairs(of: stageTop, field: "") {
                switch fieldKey.scalar?.string {
                case "inputs": stage.inputs = stageReader.inputs(fieldValue)
                case "held_out":
                  do throws(SpecError) {
                    stage.heldOut = try stageReader.seeds(fieldValue)
                  } catch {
                    stageReader.report(
                      SpecError(
                        file: file, location: error.location, field: "held_out", message: error.message))
                  }
                default: continue
                }
              }
              stage.sweep.locations.merge(stageReader.locations) { old, _ in old }
              reader.problems += stageReader.problems.map { $0.inStage(stageName) }
              stageReading.spec = stage.sweep
              readings[stageName] = stageReading
              stages.append(stage)
            } catch {
              reader.report(error)
            }
          }
        default:
          guard case .scalar = value else { throw reader.error(key, at: value, "must be text") }
        }
      } catch {
        reader.report(error)
      }
    }
    for key in ["name", "stages"] where !written.contains(key) {
      reader.report(reader.error(key, at: root, "missing; a sweep graph has a name and stages"))
    }
    var graph = SweepGraph(name: name ?? "", stages: stages, file: file)
    graph.overrides = applied.map(\.text)
    if reader.problems.isEmpty {
      // The order and seeds are only well defined once every stage and input has been read.
      let (ordered, problems) = graph.ordered()
      reader.problems += problems
      graph.stages = ordered
    }
    return Reading(graph: graph, problems: reader.problems, stages: readings)
  }

  /// Stage names name results folders and variants (`pretrain/pool`): the characters of sweep names.
  static func isStageName(_ name: String) -> Bool {
    !name.isEmpty && name.first != "."
      && name.utf8.allSatisfy { byte in
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
          || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
          || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
          || [UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "-")].contains(byte)
      }
  }

  /// The stages with producers before consumers (file order among stages free to go in any order),
  /// each `each` consumer given its producer's seeds, and every structural problem: an unknown
  /// stage or variant, a cycle, and a selector that can never find its member.
  func ordered() -> (stages: [Stage], problems: [SpecError]) {
    var problems: [SpecError] = []
    var byName: [String: Stage] = [:]
    for stage in stages { byName[stage.name] = stage }
    // Inputs naming a stage the file lacks; they are left out of the ordering.
    for stage in stages {
      for input in stage.inputs where byName[input.stage] == nil {
        let known = stages.map(\.name).filter { $0 != stage.name }
        problems.append(
          error(
            in: stage, at: "inputs.\(input.parameter).stage",
            "unknown stage '\(input.stage)' (stages: \(known.isEmpty ? "none other" : known.joined(separator: ", ")))"
          ))
      }
    }
    // Kahn's algorithm, taking the first ready stage in file order each time.
    var done: [String] = []
    var remaining = stages
    while !remaining.isEmpty {
      guard
        let index = remaining.firstIndex(where: { stage in
          stage.inputs.allSatisfy { byName[$0.stage] == nil || done.contains($0.stage) }
        })
      else {
        let cycle = remaining.map(\.name)
        let stage = remaining[0]
        let input = stage.inputs.first { cycle.contains($0.stage) }!
        problems.append(
          error(
            in: stage, at: "inputs.\(input.parameter).stage",
            "stages \(cycle.joined(separator: ", ")) consume each other's artifacts in a cycle, so none of them "
              + "could ever start; a stage may only consume stages that do not depend on it"))
        return (stages, problems)
      }
      var stage = remaining.remove(at: index)
      problems += fillSeeds(of: &stage, producers: byName)
      byName[stage.name] = stage
      done.append(stage.name)
    }
    return (done.map { byName[$0]! }, problems)
  }

  /// Gives an `each` consumer its producer's seeds, and checks every selector of `stage` against
  /// its producer (whose seeds are final: it comes earlier in the order).
  private func fillSeeds(of stage: inout Stage, producers: [String: Stage]) -> [SpecError] {
    var problems: [SpecError] = []
    // An input of an unknown stage is reported already.
    let eachInputs = stage.inputs.filter { $0.selector == .each && producers[$0.stage] != nil }
    if let first = eachInputs.first {
      if stage.sweep.locations["seeds"] != nil {
        problems.append(
          error(
            in: stage, at: "seeds",
            "must not be set: the input '\(first.parameter)' selects each member of stage '\(first.stage)', "
              + "so this stage runs once per member with its seed; use select: same-seed to choose seeds"))
      }
      if let other = eachInputs.dropFirst().first(where: { $0.stage != first.stage }) {
        problems.append(
          error(
            in: stage, at: "inputs.\(other.parameter).select",
            "only one producing stage can be taken member by member; use same-seed for '\(other.stage)'"))
      }
      if let producer = producers[first.stage] { stage.sweep.seeds = producer.sweep.seeds }
    } else if stage.sweep.seeds.isEmpty && stage.sweep.locations["seeds"] == nil {
      problems.append(
        error(
          in: stage, at: "",
          "has no seeds: add 'seeds: 0..<5', or an input with 'select: each' to run once per member"))
    }
    for heldOut in stage.heldOut where !stage.sweep.seeds.contains(heldOut) {
      problems.append(error(in: stage, at: "held_out", "seed \(heldOut) is not one of the stage's seeds"))
    }
    for input in stage.inputs {
      guard let producer = producers[input.stage] else { continue }
      let field = "inputs.\(input.parameter)"
      let variants = producer.sweep.variants.map(\.name)
      if let variant = input.variant {
        if !variants.contains(variant) {
          problems.append(
            error(
              in: stage, at: "\(field).variant",
              "stage '\(producer.name)' has no variant '\(variant)' (it has \(variants.joined(separator: ", ")))"
            ))
        }
      } else if variants.count > 1 {
        problems.append(
          error(
            in: stage, at: field,
            "stage '\(producer.name)' has \(variants.count) variants: say which with variant: \(variants[0])")
        )
      }
      let members = producer.sweep.seeds
      switch input.selector {
      case .each: break
      case .sameSeed:
        if let missing = stage.sweep.seeds.first(where: { !members.contains($0) }) {
          problems.append(
            error(
              in: stage, at: "\(field).select",
              "seed \(missing) of this stage has no member in stage '\(producer.name)' (its seeds are "
                + "\(Self.describeSeeds(members))), so its input could never exist"))
        }
      case .member(let seed):
        if !members.contains(seed) {
          problems.append(
            error(
              in: stage, at: "\(field).member",
              "stage '\(producer.name)' has no member with seed \(seed) (its seeds are \(Self.describeSeeds(members)))"
            ))
        }
      case .allButHeldOut:
        if members.allSatisfy(producer.heldOut.contains) {
          problems.append(
            error(
              in: stage, at: "\(field).select",
              "every member of stage '\(producer.name)' is held out, so no member is left to select"))
        }
      case .heldOut:
        if producer.heldOut.isEmpty {
          problems.append(
            error(
              in: stage, at: "\(field).select",
              "stage '\(producer.name)' holds no member out: give it 'held_out: [8]', say"))
        }
      }
    }
    return problems
  }

  /// Seeds for a message: `0..<9`, or the list.
  static func describeSeeds(_ seeds: [UInt64]) -> String {
    if let first = seeds.first, seeds == Array(first..<(first + UInt64(seeds.count))) {
      return "\(first)..<\(first + UInt64(seeds.count))"
    }
    return "[" + seeds.map(String.init).joined(separator: ", ") + "]"
  }
}

extension SpecError {
  /// The same error, its field named from the top of a graph file (`stages.finetune.fixed.step_size`).
  public func inStage(_ stage: String) -> SpecError {
    var copy = self
    copy.field = field.isEmpty ? "stages.\(stage)" : "stages.\(stage).\(field)"
    return copy
  }
}

extension SpecReader {
  /// The `inputs:` of a stage: parameter names mapped to `{stage, artifact, select | member, variant}`.
  mutating func inputs(_ node: Node) -> [SweepGraph.Input] {
    let example = "inputs: {network: {stage: pretrain, artifact: network, select: each}}"
    guard case .mapping(let mapping) = node else {
      report(error("inputs", at: node, "must map parameters to artifacts, like '\(example)'"))
      return []
    }
    var out: [SweepGraph.Input] = []
    for (keyNode, body) in pairs(of: mapping, field: "inputs") {
      do throws(SpecError) {
        let parameter = try keyText(keyNode, in: "inputs")
        let field = "inputs.\(parameter)"
        record(field, at: keyNode)
        guard case .mapping(let fields) = body else {
          throw error(field, at: body, "must say where the artifact comes from, like '\(example)'")
        }
        var stage: String?
        var artifact: String?
        var selector: SweepGraph.Selector?
        var variant: String?
        for (fieldKey, value) in pairs(of: fields, field: field) {
          let key = try keyText(fieldKey, in: field)
          let path = "\(field).\(key)"
          record(path, at: fieldKey)
          switch key {
          case "stage": stage = try string(value, field: path, example: "pretrain")
          case "artifact": artifact = try string(value, field: path, example: "network")
          case "variant": variant = try string(value, field: path, example: "pool")
          case "select":
            let word = try string(value, field: path, example: "each")
            switch word {
            case "each": selector = .each
            case "same-seed": selector = .sameSeed
            case "all-but-held-out": selector = .allButHeldOut
            case "held-out": selector = .heldOut
            default:
              throw error(
                path, at: value,
                "must be each, same-seed, all-but-held-out or held-out (or write member: 3 instead), got '\(SpecReader.excerpt(word))'"
              )
            }
          case "member":
            guard case .scalar(let scalar) = value, case .value(.int(let seed)) = Self.classify(scalar),
              seed >= 0
            else {
              throw error(
                path, at: value, "must be the seed of a member, like 3, got \(Self.describe(value))")
            }
            guard selector == nil else {
              throw error(path, at: value, "give either select or member, not both")
            }
            selector = .member(UInt64(seed))
          default:
            throw error(
              path, at: fieldKey,
              "unknown key '\(SpecReader.excerpt(key))' (expected one of \(SweepGraph.inputKeys.joined(separator: ", ")))"
            )
          }
        }
        guard let stage else {
          throw error(field, at: body, "needs 'stage:', the stage whose artifact it takes")
        }
        guard let artifact else {
          throw error(field, at: body, "needs 'artifact:', the name of the artifact (like network)")
        }
        out.append(
          SweepGraph.Input(
            parameter: parameter, stage: stage, artifact: artifact, selector: selector ?? .each,
            variant: variant))
      } catch {
        report(error)
      }
    }
    return out
  }
}
