import Foundation
import Testing

@testable import ZeroMQ

private func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

/// A fresh folder only we can use (mode 0700), removed by the caller.
private func makeTemporaryDirectory() throws -> String {
  var template = Array((NSTemporaryDirectory() + "/metasweep-curve-XXXXXX").utf8CString)
  let path = template.withUnsafeMutableBufferPointer { buffer -> String? in
    mkdtemp(buffer.baseAddress!).map { String(cString: $0) }
  }
  return try #require(path)
}

private func permissions(_ path: String) throws -> Int {
  let attributes = try FileManager.default.attributesOfItem(atPath: path)
  return try #require(attributes[.posixPermissions] as? Int)
}

/// Polls `socket` until a message arrives or `timeout` passes; never sleeps.
private func receive(_ socket: Socket, timeout: Duration = .seconds(10)) throws -> [[UInt8]]? {
  let deadline = ContinuousClock.now + timeout
  while ContinuousClock.now < deadline {
    if let frames = try socket.receiveMultipart(wait: false) { return frames }
    _ = try socket.poll(.readable, timeout: deadline - ContinuousClock.now)
  }
  return nil
}

@Suite(.enabled(if: ZeroMQ.hasCurve, "libzmq was built without CURVE (libsodium); CURVE tests skipped."))
struct CurveTests {
  // MARK: Keys

  @Test func generate_givesZ85KeysOf40Characters_andThePublicKeyFollowsFromTheSecret() throws {
    let pair = try CurveKeyPair.generate()
    #expect(pair.publicKey.utf8.count == 40 && pair.secretKey.utf8.count == 40)
    #expect(pair.publicKeyBytes.count == 32 && pair.secretKeyBytes.count == 32)
    #expect(Z85.isValidKey(pair.publicKey) && Z85.isValidKey(pair.secretKey))
    #expect(try CurveKeyPair.publicKey(fromSecret: pair.secretKey) == pair.publicKey)
    #expect(try Z85.encode(pair.secretKeyBytes) == pair.secretKey)
    #expect(try Z85.decode(pair.publicKey) == pair.publicKeyBytes)
    #expect(try CurveKeyPair(secretKey: pair.secretKey) == pair)
    #expect(try CurveKeyPair(publicKey: pair.publicKey, secretKey: pair.secretKey) == pair)

    let other = try CurveKeyPair.generate()
    #expect(other.secretKey != pair.secretKey && other.publicKey != pair.publicKey)
    #expect(throws: ZMQError.self) { try CurveKeyPair(publicKey: other.publicKey, secretKey: pair.secretKey) }
  }

  @Test func keyPair_neverShowsItsSecret_inDescriptionsOrDumps() throws {
    let pair = try CurveKeyPair.generate()
    var dumped = ""
    dump(pair, to: &dumped)
    for text in ["\(pair)", String(describing: pair), String(reflecting: pair), dumped] {
      #expect(!text.contains(pair.secretKey))
      #expect(text.contains(pair.publicKey) || text == dumped)
    }
  }

  @Test func z85_rejectsWrongLengths_foreignCharacters_andOverflowingGroups() throws {
    let valid = try CurveKeyPair.generate().publicKey
    #expect(Z85.isValidKey(valid))
    #expect(!Z85.isValidKey(String(valid.dropLast())))
    #expect(!Z85.isValidKey(valid + "0"))
    #expect(!Z85.isValidKey(String(valid.dropLast(5))))  // valid Z85, but not a 40-character key
    #expect(!Z85.isValidKey(String(valid.dropLast()) + " "))
    #expect(!Z85.isValidKey(String(valid.dropLast()) + "\""))
    #expect(!Z85.isValidKey(String(valid.dropLast()) + "é"))
    #expect(!Z85.isValidKey(String(repeating: "#", count: 40)))  // 85^5 - 1 > 2^32 - 1

    for text in ["abcd", "abcdé", "#####", "abcd\u{0}", String(repeating: "0", count: 41)] {
      #expect(throws: ZMQError.self) { try Z85.decode(text) }
    }
    #expect(throws: ZMQError.self) { try Z85.encode([1, 2, 3]) }
    #expect(throws: ZMQError.self) { try CurveKeyPair(secretKey: "short") }
    #expect(throws: ZMQError.self) { try CurveKeyPair.publicKey(fromSecret: String(valid.dropLast()) + " ") }

    // RFC 32's test vector, and a round trip of every byte value.
    #expect(try Z85.encode([0x86, 0x4F, 0xD2, 0x6F, 0xB5, 0x59, 0xF7, 0x5B]) == "HelloWorld")
    let all = (0...255).map { UInt8($0) }
    #expect(try Z85.decode(Z85.encode(all)) == all)
    #expect(try Z85.decode("") == [])
  }

  @Test func z85Errors_neverRepeatTheText() throws {
    let secret = try CurveKeyPair.generate().secretKey
    let broken = String(secret.dropLast()) + " "
    do {
      _ = try CurveKeyPair(secretKey: broken)
      Issue.record("a broken secret key was accepted")
    } catch {
      #expect(!error.message.contains(String(secret.dropLast())))
    }
  }

  // MARK: Key files

  @Test func keyFiles_areWrittenWithModes0600And0644_andNeverOverwritten() throws {
    let directory = try makeTemporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let pair = try CurveKeyPair.generate()
    let paths = try CurveKeyFile.write(pair, name: "worker-a", directory: directory)
    #expect(paths.secret == directory + "/worker-a.key" && paths.public == directory + "/worker-a.pub")
    #expect(try permissions(paths.secret) == 0o600)
    #expect(try permissions(paths.public) == 0o644)
    #expect(try CurveKeyFile.loadKeyPair(path: paths.secret) == pair)
    #expect(try CurveKeyFile.loadPublicKey(path: paths.public) == pair.publicKey)
    let publicText = try String(contentsOfFile: paths.public, encoding: .utf8)
    #expect(!publicText.contains(pair.secretKey) && publicText.contains("public-key = \"\(pair.publicKey)\""))
    // No temporary files are left behind.
    #expect(
      try FileManager.default.contentsOfDirectory(atPath: directory).sorted() == [
        "worker-a.key", "worker-a.pub",
      ])

    let replacement = try CurveKeyPair.generate()
    #expect {
      try CurveKeyFile.write(replacement, name: "worker-a", directory: directory)
    } throws: { error in
      (error as? KeyFileError)?.code == .alreadyExists
    }
    #expect(try CurveKeyFile.loadKeyPair(path: paths.secret) == pair)

    // An existing .pub alone also stops the write, and no .key is left behind.
    #expect(FileManager.default.createFile(atPath: directory + "/worker-b.pub", contents: Data()))
    #expect(throws: KeyFileError.self) {
      try CurveKeyFile.write(replacement, name: "worker-b", directory: directory)
    }
    #expect(!FileManager.default.fileExists(atPath: directory + "/worker-b.key"))

    for name in ["", "../escape", ".hidden", "a b", "-flag", String(repeating: "x", count: 65)] {
      #expect {
        try CurveKeyFile.write(replacement, name: name, directory: directory)
      } throws: { error in
        (error as? KeyFileError)?.code == .invalidName
      }
    }
  }

  @Test func loadingASecretKey_thatOthersCanRead_isRefusedLikeSsh() throws {
    let directory = try makeTemporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let pair = try CurveKeyPair.generate()
    let paths = try CurveKeyFile.write(pair, name: "coordinator", directory: directory)
    #expect(chmod(paths.secret, 0o644) == 0)
    do {
      _ = try CurveKeyFile.loadKeyPair(path: paths.secret)
      Issue.record("a 0644 secret key was loaded")
    } catch {
      #expect(error.code == .permissionsTooOpen)
      #expect(error.message.contains("0644") && error.message.contains("chmod 600 \(paths.secret)"))
      #expect(!error.message.contains(pair.secretKey))
    }
    #expect(chmod(paths.secret, 0o640) == 0)
    #expect(throws: KeyFileError.self) { try CurveKeyFile.loadKeyPair(path: paths.secret) }
    #expect(chmod(paths.secret, 0o400) == 0)
    #expect(try CurveKeyFile.loadKeyPair(path: paths.secret) == pair)
  }

  @Test func keyFiles_withWrongContents_areRefused_withoutEchoingKeys() throws {
    let directory = try makeTemporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let pair = try CurveKeyPair.generate()
    let other = try CurveKeyPair.generate()
    let cases: [(file: String, text: String)] = [
      ("mismatch.key", "public-key = \"\(other.publicKey)\"\nsecret-key = \"\(pair.secretKey)\"\n"),
      ("nosecret.key", "public-key = \"\(pair.publicKey)\"\n"),
      ("secret.pub", "public-key = \"\(pair.publicKey)\"\nsecret-key = \"\(pair.secretKey)\"\n"),
      ("unquoted.pub", "public-key = \(pair.publicKey)\n"),
      ("twice.pub", "public-key = \"\(pair.publicKey)\"\npublic-key = \"\(pair.publicKey)\"\n"),
      ("unknown.pub", "colour = \"blue\"\n"),
      ("short.pub", "public-key = \"abc\"\n"),
      ("empty.pub", ""),
    ]
    for (file, text) in cases {
      let path = directory + "/" + file
      #expect(
        FileManager.default.createFile(
          atPath: path, contents: Data(text.utf8), attributes: [.posixPermissions: 0o600]))
      do {
        if file.hasSuffix(".key") {
          _ = try CurveKeyFile.loadKeyPair(path: path)
        } else {
          _ = try CurveKeyFile.loadPublicKey(path: path)
        }
        Issue.record("\(file) was accepted")
      } catch {
        #expect(error.code == .malformed, "\(file)")
        #expect(error.path == path && error.message.contains(file))
        #expect(!error.message.contains(pair.secretKey))
      }
    }
    // Comments, blank lines, CRLF and spaces around '=' are fine.
    let path = directory + "/loose.pub"
    _ = FileManager.default.createFile(
      atPath: path, contents: Data("# a comment\r\n\r\n  public-key=\"\(pair.publicKey)\"  \r\n".utf8))
    #expect(try CurveKeyFile.loadPublicKey(path: path) == pair.publicKey)
  }

  // MARK: Allow-list

  @Test func allowList_loadsThePubFiles_ignoresOthers_andReportsMalformedOnesByName() throws {
    let directory = try makeTemporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let a = try CurveKeyPair.generate()
    let b = try CurveKeyPair.generate()
    try CurveKeyFile.write(a, name: "worker-a", directory: directory)
    try CurveKeyFile.write(b, name: "worker-b", directory: directory)
    _ = FileManager.default.createFile(atPath: directory + "/broken.pub", contents: Data("not a key\n".utf8))
    _ = FileManager.default.createFile(atPath: directory + "/README.txt", contents: Data("ignored".utf8))
    _ = FileManager.default.createFile(
      atPath: directory + "/copy-of-a.pub", contents: Data("public-key = \"\(a.publicKey)\"\n".utf8))

    let list = try AllowList.load(directory: directory)
    #expect(list.entries.map(\.name) == ["copy-of-a", "worker-b"])  // copy-of-a sorts first, so it wins
    #expect(list.problems.map(\.path) == [directory + "/broken.pub", directory + "/worker-a.pub"])
    #expect(list.problems[0].code == .malformed && list.problems[0].message.contains("broken.pub"))
    #expect(list.problems[1].message.contains("copy-of-a.pub"))
    #expect(list.name(for: b.publicKeyBytes) == "worker-b")
    #expect(list.name(for: a.publicKeyBytes) == "copy-of-a")
    #expect(list.name(for: try CurveKeyPair.generate().publicKeyBytes) == nil)
    #expect(list.name(for: []) == nil)

    // The secret key files in the same folder are not .pub files: ignored, never loaded.
    #expect(!list.entries.contains { $0.name.hasSuffix(".key") })
  }

  @Test func allowList_inAFolderOthersCanWrite_orMissing_isRefused() throws {
    let directory = try makeTemporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: directory) }
    #expect(chmod(directory, 0o777) == 0)
    #expect {
      try AllowList.load(directory: directory)
    } throws: { error in
      (error as? KeyFileError)?.code == .permissionsTooOpen
    }
    #expect {
      try AllowList.load(directory: directory + "/missing")
    } throws: { error in
      (error as? KeyFileError)?.code == .notFound
    }
  }

  // MARK: ZAP

  @Test func zap_answersMalformedAndForeignRequests_withoutCrashing_andRecovers() throws {
    let context = try ZMQContext()
    let allowed = try CurveKeyPair.generate()
    let zap = try ZAPAuthenticator(
      context: context,
      allowList: try AllowList(entries: [.init(name: "worker-a", publicKey: allowed.publicKey)]))
    // A DEALER speaks to the REP handler as libzmq does: an empty delimiter frame, then the request.
    let client = try Socket(.dealer, context: context)
    try client.connect(ZAPAuthenticator.endpoint)

    func ask(_ request: [[UInt8]]) throws -> (reply: [[UInt8]], decision: ZAPDecision) {
      try client.send(frames: [[]] + request)
      var decisions: [ZAPDecision] = []
      let deadline = ContinuousClock.now + .seconds(10)
      while decisions.isEmpty && ContinuousClock.now < deadline {
        _ = try zap.socket.poll(.readable, timeout: .seconds(1))
        decisions += try zap.handlePending()
      }
      let reply = try #require(try receive(client))
      #expect(reply.first == [])
      return (Array(reply.dropFirst()), try #require(decisions.first))
    }
    let id = bytes("req-7")
    func curve(_ key: [UInt8], domain: String = "metasweep", version: String = "1.0") -> [[UInt8]] {
      [bytes(version), id, bytes(domain), bytes("10.0.0.9"), [], bytes("CURVE"), key]
    }

    var (reply, decision) = try ask([bytes("1.0"), id, bytes("x")])
    #expect(reply == [bytes("1.0"), id, bytes("500"), reply[3], [], []] && decision.outcome == .malformed)

    (reply, decision) = try ask(curve(allowed.publicKeyBytes, version: "2.0"))
    #expect(reply[2] == bytes("500") && decision.outcome == .malformed)

    (reply, decision) = try ask(curve(Array(allowed.publicKeyBytes.dropLast())))
    #expect(reply[2] == bytes("500") && decision.outcome == .malformed)

    (reply, decision) = try ask([bytes("1.0"), id, bytes("metasweep"), bytes("10.0.0.9"), [], bytes("NULL")])
    #expect(reply[2] == bytes("400") && decision.outcome == .denied && decision.mechanism == "NULL")
    #expect(decision.address == "10.0.0.9")

    (reply, decision) = try ask(curve(allowed.publicKeyBytes, domain: "other"))
    #expect(reply[2] == bytes("400") && decision.reason == "Unknown ZAP domain" && decision.name == nil)

    // Too many frames: dropped unread by the socket, answered with 500 and an empty id.
    (reply, decision) = try ask((0..<40).map { [UInt8($0)] })
    #expect(reply.count == 6 && reply[1] == [] && reply[2] == bytes("500"))

    // And the handler still works.
    (reply, decision) = try ask(curve(allowed.publicKeyBytes))
    #expect(reply == [bytes("1.0"), id, bytes("200"), bytes("OK"), bytes("worker-a"), []])
    #expect(decision.isAccepted && decision.name == "worker-a" && decision.publicKey == allowed.publicKey)
  }

  @Test func zapAnswer_toRandomFrames_isAlwaysSixFrames_andNeverAdmits() throws {
    let allowed = try CurveKeyPair.generate()
    let list = try AllowList(entries: [.init(name: "worker-a", publicKey: allowed.publicKey)])
    var state: UInt64 = 0x9E37_79B9_7F4A_7C15
    func next() -> UInt64 {  // SplitMix64
      state &+= 0x9E37_79B9_7F4A_7C15
      var z = state
      z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
      z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
      return z ^ (z >> 31)
    }
    let valid = [bytes("1.0"), bytes("id"), bytes("metasweep"), bytes("127.0.0.1"), [], bytes("CURVE")]
    for round in 0..<5000 {
      var request: [[UInt8]]
      if round % 2 == 0 {
        request = (0..<Int(next() % 10)).map { _ in
          (0..<Int(next() % 40)).map { _ in UInt8(truncatingIfNeeded: next()) }
        }
      } else {
        // Mutate a near-valid request: random key bytes, or one frame replaced.
        request = valid + [(0..<32).map { _ in UInt8(truncatingIfNeeded: next()) }]
        let index = Int(next() % 7)
        request[index] = (0..<Int(next() % 40)).map { _ in UInt8(truncatingIfNeeded: next()) }
      }
      let (reply, decision) = ZAPAuthenticator.answer(request, allowList: list, domain: "metasweep")
      #expect(reply.count == 6 && reply[0] == bytes("1.0"))
      #expect(!decision.isAccepted && reply[2] != bytes("200"))
    }
  }

  // MARK: CURVE over TCP

  @Test func curveRouter_letsAnAllowedClientIn_andNeverHearsUnknownOrPlaintextClients() throws {
    let serverContext = try ZMQContext()
    let serverKeys = try CurveKeyPair.generate()
    let allowed = try CurveKeyPair.generate()
    let unknown = try CurveKeyPair.generate()
    let zap = try ZAPAuthenticator(
      context: serverContext,
      allowList: try AllowList(entries: [.init(name: "worker-a", publicKey: allowed.publicKey)]))
    let router = try Socket(.router, context: serverContext)
    try router.set(.linger(milliseconds: 0))
    try router.makeCurveServer(keyPair: serverKeys, authenticator: zap)
    let endpoint = try router.bind("tcp://127.0.0.1:0")

    let clientContext = try ZMQContext()
    let plaintext = try Socket(.dealer, context: clientContext)
    try plaintext.set(.linger(milliseconds: 0), .routingID(bytes("plain")))
    try plaintext.connect(endpoint)
    try plaintext.send(frames: [bytes("from plaintext")])

    let stranger = try Socket(.dealer, context: clientContext)
    try stranger.set(.linger(milliseconds: 0), .routingID(bytes("stranger")))
    try stranger.makeCurveClient(serverPublicKey: serverKeys.publicKey, clientKeyPair: unknown)
    try stranger.connect(endpoint)
    try stranger.send(frames: [bytes("from stranger")])

    let worker = try Socket(.dealer, context: clientContext)
    try worker.set(.linger(milliseconds: 0), .routingID(bytes("worker-a")))
    try worker.makeCurveClient(serverPublicKey: serverKeys.publicKey, clientKeyPair: allowed)
    try worker.connect(endpoint)
    try worker.send(frames: [bytes("ping")])

    // The server's poll loop: the ROUTER and the ZAP handler on one thread.
    let poller = Poller()
    let routerIndex = poller.register(router)
    let zapIndex = poller.register(zap.socket)
    var messages: [[[UInt8]]] = []
    var decisions: [ZAPDecision] = []
    var userIDs: [String?] = []
    func serve(until isDone: () -> Bool, timeout: Duration) throws {
      let deadline = ContinuousClock.now + timeout
      while !isDone() && ContinuousClock.now < deadline {
        guard try poller.poll(timeout: deadline - ContinuousClock.now) > 0 else { continue }
        if poller.isReadable(zapIndex) { decisions += try zap.handlePending() }
        if poller.isReadable(routerIndex) {
          while let frames = try router.receiveMultipart(wait: false) {
            messages.append(frames)
            userIDs.append(router.lastMessageProperty("User-Id"))
          }
        }
      }
    }
    try serve(
      until: { !messages.isEmpty && decisions.contains { !$0.isAccepted } }, timeout: .seconds(20))
    // Anything the others could still get through would arrive now.
    try serve(until: { false }, timeout: .milliseconds(500))

    #expect(messages == [[bytes("worker-a"), bytes("ping")]])
    #expect(userIDs == ["worker-a"])  // the allow-list name, vouched for by the ZAP handler
    let accepted = decisions.filter(\.isAccepted)
    let denied = decisions.filter { !$0.isAccepted }
    #expect(accepted.count >= 1 && accepted.allSatisfy { $0.name == "worker-a" && $0.address == "127.0.0.1" })
    #expect(accepted.first?.publicKey == allowed.publicKey)
    #expect(denied.count >= 1)
    #expect(denied.allSatisfy { $0.outcome == .denied && $0.name == nil && $0.address == "127.0.0.1" })
    #expect(denied.first?.publicKey == unknown.publicKey && denied.first?.reason == "Unknown public key")
    #expect(denied.first?.description.contains("denied 127.0.0.1") == true)

    // The allowed client gets its reply over the encrypted link.
    try router.send(frames: [bytes("worker-a"), bytes("pong")])
    #expect(try receive(worker) == [bytes("pong")])
    #expect(try stranger.receiveMultipart(wait: false) == nil)
    #expect(try plaintext.receiveMultipart(wait: false) == nil)
  }

  @Test func plaintextSockets_inTheAuthenticatorsContext_stillTalk() throws {
    // libzmq asks the ZAP handler about NULL connections only when a ZAP domain is set, so a
    // coordinator's other plaintext sockets are not affected by the allow-list.
    let context = try ZMQContext()
    let zap = try ZAPAuthenticator(context: context, allowList: try AllowList(entries: []))
    let router = try Socket(.router, context: context)
    try router.set(.linger(milliseconds: 0))
    let endpoint = try router.bind("tcp://127.0.0.1:0")
    let dealer = try Socket(.dealer, context: context)
    try dealer.set(.linger(milliseconds: 0), .routingID(bytes("local")))
    try dealer.connect(endpoint)
    try dealer.send(frames: [bytes("hi")])
    #expect(try receive(router) == [bytes("local"), bytes("hi")])
    #expect(router.lastMessageProperty("User-Id") == nil || router.lastMessageProperty("User-Id") == "")
    #expect(try zap.handlePending().isEmpty)
  }

  @Test func curveServer_withAnAuthenticatorOfAnotherContext_isRefused() throws {
    let zap = try ZAPAuthenticator(context: try ZMQContext(), allowList: try AllowList(entries: []))
    let router = try Socket(.router, context: try ZMQContext())
    #expect {
      try router.makeCurveServer(keyPair: try CurveKeyPair.generate(), authenticator: zap)
    } throws: { error in
      (error as? ZMQError)?.code == .invalidArgument
    }
    #expect {
      _ = try ZAPAuthenticator(context: zap.socket.context, allowList: try AllowList(entries: []))
    } throws: { error in
      (error as? ZMQError)?.code == .addressInUse
    }
  }
}
