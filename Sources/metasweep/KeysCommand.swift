import ArgumentParser
import Foundation
import ZeroMQ

/// `metasweep keys`: CURVE key pairs for encrypted, authenticated coordinator–worker links.
struct KeysCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "keys",
    abstract: "Make CURVE key pairs for the coordinator and its workers.",
    discussion: """
      metasweep keys generate coordinator --dir keys
      metasweep keys generate worker-a --dir keys
      mkdir -m 0755 allowed && cp keys/worker-a.pub allowed/
      The coordinator gets coordinator.key and the allowed/ folder; each worker gets its own .key
      and coordinator.pub. A .key file never leaves its host.
      """,
    subcommands: [GenerateKeysCommand.self])
}

/// `metasweep keys generate NAME [--dir DIR]`.
struct GenerateKeysCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "generate",
    abstract: "Write a new CURVE key pair: NAME.key (secret, mode 0600) and NAME.pub (public, mode 0644).",
    discussion: """
      Existing files are never overwritten. NAME becomes the worker's name in the coordinator's \
      logs when NAME.pub is in its allow-list folder. The secret key is never printed.
      """)

  @Argument(help: "The key's name: letters, digits, '.', '_' or '-' (e.g. worker-a, coordinator).")
  var name: String

  @Option(
    name: .customLong("dir"), help: "The folder to write the two files to (created if missing, mode 0700).")
  var directory: String = "."

  func validate() throws {
    guard CurveKeyFile.isValidName(name) else {
      throw ValidationError(
        "'\(name)' cannot name a key: use 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit."
      )
    }
  }

  func run() throws {
    try withErrorFunnel {
      if !FileManager.default.fileExists(atPath: directory) {
        try FileManager.default.createDirectory(
          atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
      }
      let keyPair = try CurveKeyPair.generate()
      let paths = try CurveKeyFile.write(keyPair, name: name, directory: directory)
      print("wrote \(paths.secret) (secret, mode 0600: keep it on this host)")
      print(
        "wrote \(paths.public) (public: copy it to the coordinator's allow-list folder, or to the workers if this is the coordinator)"
      )
      print("public key: \(keyPair.publicKey)")
    }
  }
}
