import Foundation
import SweepModel

/// What `MANIFEST.json` records about how a results folder was made. The caller fills it in.
public struct ReportManifest: Sendable, Equatable {
  /// The sweep's name.
  public var sweepName: String
  /// SHA-256 of the sweep file text the results belong to.
  public var specHash: String
  /// The git commit MetaSweep was built from (`git describe --always --dirty`), or "unknown".
  public var commit: String
  /// The Swift toolchain (`swift --version`, first line), or "unknown".
  public var toolchain: String
  /// The machine that wrote the report.
  public var host: String
  /// When the report was written; recorded in UTC, ISO 8601, to the second.
  public var date: Date
  /// Runs in the spec.
  public var total: Int
  public var done: Int
  public var failed: Int
  public var pending: Int
  /// The datasets the runs read, by name, with their content hashes (SHA-256 of the decoded
  /// arrays); written only when there are some.
  public var datasets: [String: [String]] = [:]
  /// The command-line overrides (`--set fixed.step_size=0.001`) the sweep ran with, in order;
  /// written only when there are some.
  public var overrides: [String] = []
  /// Runs whose outcomes were made by an earlier version of their program, kept (`--keep-results`)
  /// in place of runs of the current one; written only when there are some.
  public var keptResults: [KeptResult] = []
  /// The machine types of the workers that computed the runs (CPU model and OpenBLAS kernel), each
  /// with how many of the report's runs it computed (a run whose segments crossed two counts under
  /// both); written only when known. Runs are bit-identical across hosts of one machine type.
  public var machines: [String: Int] = [:]

  /// A run kept in place of a run of the edited program.
  public struct KeptResult: Sendable, Equatable {
    public var variant: String
    public var seed: UInt64
    /// The kept run's key, and the key of the run of the current program it stands in for.
    public var runKey: String
    public var insteadOf: String
    /// The program the kept outcome was made by.
    public var programSHA256: String

    public init(variant: String, seed: UInt64, runKey: String, insteadOf: String, programSHA256: String) {
      self.variant = variant
      self.seed = seed
      self.runKey = runKey
      self.insteadOf = insteadOf
      self.programSHA256 = programSHA256
    }
  }

  public init(
    sweepName: String, specHash: String, commit: String, toolchain: String, host: String, date: Date,
    total: Int, done: Int, failed: Int, pending: Int
  ) {
    self.sweepName = sweepName
    self.specHash = specHash
    self.commit = commit
    self.toolchain = toolchain
    self.host = host
    self.date = date
    self.total = total
    self.done = done
    self.failed = failed
    self.pending = pending
  }

  /// The manifest as JSON with sorted keys, two-space indentation and a final newline.
  public var json: String {
    var fields: [(String, String)] = [
      ("commit", jsonString(commit)),
      (
        "counts",
        "{\n    \"done\": \(done),\n    \"failed\": \(failed),\n    \"pending\": \(pending),\n    \"total\": \(total)\n  }"
      ),
      ("date", jsonString(Self.iso8601(date))),
    ]
    if !datasets.isEmpty {
      let entries = datasets.sorted { $0.key < $1.key }.map { name, hashes in
        "    \(jsonString(name)): [" + hashes.sorted().map(jsonString).joined(separator: ", ") + "]"
      }
      fields.append(("datasets", "{\n" + entries.joined(separator: ",\n") + "\n  }"))
    }
    fields.append(("host", jsonString(host)))
    if !keptResults.isEmpty {
      let entries = keptResults.map { kept in
        "    {\"instead_of\": \(jsonString(kept.insteadOf)), \"program_sha256\": \(jsonString(kept.programSHA256)), "
          + "\"run_key\": \(jsonString(kept.runKey)), \"seed\": \(kept.seed), \"variant\": \(jsonString(kept.variant))}"
      }
      fields.append(("kept_results", "[\n" + entries.joined(separator: ",\n") + "\n  ]"))
    }
    if !machines.isEmpty {
      let entries = machines.sorted { $0.key < $1.key }.map { "    \(jsonString($0.key)): \($0.value)" }
      fields.append(("machines", "{\n" + entries.joined(separator: ",\n") + "\n  }"))
    }
    if !overrides.isEmpty {
      fields.append(("overrides", "[" + overrides.map(jsonString).joined(separator: ", ") + "]"))
    }
    fields += [
      ("spec_hash", jsonString(specHash)),
      ("sweep", jsonString(sweepName)),
      ("toolchain", jsonString(toolchain)),
    ]
    return "{\n" + fields.map { "  \(jsonString($0.0)): \($0.1)" }.joined(separator: ",\n") + "\n}\n"
  }

  /// `2026-11-21T20:34:26Z`, computed from the number of seconds so no locale or calendar setting applies.
  static func iso8601(_ date: Date) -> String {
    let seconds = Int64(date.timeIntervalSince1970.rounded(.down))
    var days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
    let secondOfDay = seconds - days * 86_400
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    days += 719_468
    let era = (days >= 0 ? days : days - 146_096) / 146_097
    let dayOfEra = days - era * 146_097
    let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
    let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
    let mp = (5 * dayOfYear + 2) / 153
    let day = dayOfYear - (153 * mp + 2) / 5 + 1
    let month = mp < 10 ? mp + 3 : mp - 9
    let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
    func two(_ n: Int64) -> String { n < 10 ? "0\(n)" : "\(n)" }
    return
      "\(year)-\(two(month))-\(two(day))T\(two(secondOfDay / 3600)):\(two(secondOfDay / 60 % 60)):\(two(secondOfDay % 60))Z"
  }
}

/// A JSON string literal (RFC 8259 escapes).
func jsonString(_ s: String) -> String { CanonicalJSON.quote(s) }
