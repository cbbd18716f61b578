import Foundation
import ZeroMQ

/// What `status --connect` needs to reach the coordinator of a `run` with local workers, kept in
/// the results folder while it runs.
///
/// Such a coordinator speaks CURVE with keys made for the run, so a plain `status --connect` gets
/// no answer. The run therefore also allows a key of its own for status requests and writes, in
/// `DIR/.live` (mode 0700): `status.key` (mode 0600) and `status.pub`, the coordinator's public key
/// `coordinator.pub`, and the endpoint. Only the account that owns the folder can read the secret,
/// which is who could already read the journal. The folder goes when the run ends; a killed run's
/// stale folder is replaced by the next.
enum LiveViewKeys {
  static func folder(_ directory: String) -> String { directory + "/.live" }

  /// Writes the files for a coordinator at `endpoint` that allows `viewer` and is `server`.
  /// - Returns: the `status` command that asks the coordinator.
  static func write(
    endpoint: String, viewer: CurveKeyPair, serverPublicKey: String, directory: String
  ) throws -> String {
    let folder = folder(directory)
    remove(directory)
    guard mkdir(folder, 0o700) == 0 else {
      throw ServeError(message: "cannot create \(folder): \(String(cString: strerror(errno)))", exitCode: 1)
    }
    let keys = try CurveKeyFile.write(viewer, name: "status", directory: folder)
    let server = try CurveKeyFile.writePublic(serverPublicKey, name: "coordinator", directory: folder)
    try Data((endpoint + "\n").utf8).write(to: URL(fileURLWithPath: folder + "/endpoint"))
    return "metasweep status --connect \(endpoint) --curve-key \(keys.secret) --server-key \(server)"
  }

  /// The `status` command for the coordinator running in `directory`, if it wrote one.
  static func command(directory: String) -> String? {
    let folder = folder(directory)
    guard
      let text = try? String(contentsOfFile: folder + "/endpoint", encoding: .utf8),
      let endpoint = text.split(separator: "\n").first,
      FileManager.default.fileExists(atPath: folder + "/status.key")
    else { return nil }
    return
      "metasweep status --connect \(endpoint) --curve-key \(folder)/status.key --server-key \(folder)/coordinator.pub"
  }

  static func remove(_ directory: String) {
    try? FileManager.default.removeItem(atPath: folder(directory))
  }
}
