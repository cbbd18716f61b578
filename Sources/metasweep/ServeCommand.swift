import ArgumentParser
import Foundation
import Journal
import NIOCore
import NIOHTTP1
import NIOPosix
import SweepModel
import Synchronization

struct ServeCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "serve",
    abstract:
      "Show a sweep in a web browser, live: its runs by variant and seed, its tables and its figures.",
    discussion: """
      Reads the journal (read-only, safe while the sweep runs) and serves one page that updates itself
      as the journal changes: a grid of the runs (a row per variant, a column per seed), summary.md's
      tables and the figures, rebuilt whenever a run finishes. Loopback only unless --bind says otherwise.
        metasweep serve results/crossprop-geoff                 # http://127.0.0.1:8000/
        metasweep serve results/crossprop-geoff --port 0        # any free port (printed)
      """)

  @Argument(help: "The sweep's output folder (holding journal.sqlite).")
  var directory: String

  @Option(
    help:
      "The IPv4 address to listen on; 0.0.0.0 serves every interface (anyone who reaches it sees the sweep).")
  var bind: String = "127.0.0.1"

  @Option(help: "The TCP port; 0 takes any free one.")
  var port: UInt16 = 8000

  func run() throws {
    try withErrorFunnel {
      _ = try SweepRunner.existingJournalPath(directory)
      guard (try? SocketAddress(ipAddress: bind, port: 0)).map({ $0.protocol == .inet }) ?? false else {
        throw ServeError(message: "--bind \(bind): not an IPv4 address", exitCode: 2)
      }
      let site = LiveSite(directory: directory)
      try site.refresh()  // a journal that cannot be read fails here, before the server starts
      let started = ServeStart()
      Task { [bind, port] in
        do {
          try await LiveServer.run(host: bind, port: Int(port), site: site) { started.listening(port: $0) }
        } catch {
          started.failed(error)
        }
      }
      SignalTrap.install()
      let shown = URL(fileURLWithPath: directory).standardizedFileURL.path
      var announced = false
      while !SignalTrap.isTriggered {
        switch started.state {
        case .waiting: break
        case .listening(let port):
          if !announced {
            // Unbuffered, so a script reading the pipe learns the port at once.
            FileHandle.standardOutput.write(
              Data("Serving \(shown) at http://\(bind):\(port)/ (Ctrl-C stops)\n".utf8))
            announced = true
          }
        case .failed(let error):
          throw ServeError(message: "cannot serve on \(bind):\(port): \(error)", exitCode: 1)
        }
        usleep(50_000)
      }
    }
  }
}

/// The HTTP side of `serve`, on SwiftNIO's HTTP/1.1 codec: GET only, one task per connection,
/// keep-alive honoured. Routes: `/` (the page), `/live?since=VERSION` (a long poll for the
/// fragment), `/figures/NAME.svg`; anything else is 404, a method other than GET 405.
enum LiveServer {
  typealias Connection = NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>

  /// Listens on `host:port` until the task is cancelled; `listening` gets the bound port.
  static func run(host: String, port: Int, site: LiveSite, listening: @Sendable (Int) -> Void) async throws {
    let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
      .serverChannelOption(.backlog, value: 64)
      .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
      .bind(host: host, port: port) { channel in
        channel.eventLoop.makeCompletedFuture {
          try channel.pipeline.syncOperations.configureHTTPServerPipeline()
          return try Connection(wrappingChannelSynchronously: channel)
        }
      }
    listening(server.channel.localAddress?.port ?? port)
    try await withThrowingDiscardingTaskGroup { group in
      try await server.executeThenClose { connections in
        for try await connection in connections {
          group.addTask { await serve(connection, site: site) }
        }
      }
    }
  }

  /// Answers the requests of one connection until it closes (or a request asks it to).
  static func serve(_ connection: Connection, site: LiveSite) async {
    try? await connection.executeThenClose { requests, responses in
      var head: HTTPRequestHead?
      for try await part in requests {
        switch part {
        case .head(let request): head = request
        case .body: continue
        case .end:
          guard let request = head else { continue }
          let answer = await LiveRoutes.answer(method: request.method, uri: request.uri, site: site)
          var headers = HTTPHeaders(answer.headers.map { ($0.0, $0.1) })
          headers.add(name: "Content-Length", value: String(answer.body.count))
          try await responses.write(
            .head(HTTPResponseHead(version: request.version, status: answer.status, headers: headers)))
          try await responses.write(.body(.byteBuffer(ByteBuffer(bytes: answer.body))))
          try await responses.write(.end(nil))
          if !request.isKeepAlive { return }
          head = nil
        }
      }
    }
  }
}

/// What each request of `serve` gets, whatever carries it.
enum LiveRoutes {
  struct Answer {
    var status: HTTPResponseStatus
    var headers: [(String, String)] = []
    var body: [UInt8] = []
  }

  static func answer(method: HTTPMethod, uri: String, site: LiveSite) async -> Answer {
    guard method == .GET else { return Answer(status: .methodNotAllowed, headers: [("Allow", "GET")]) }
    let (path, query) = split(uri)
    do {
      switch path {
      case "/":
        return html(try site.page())
      case "/live":
        // A long poll: answered when the fragment is newer than the page's, or with 204 after 10 s.
        let since = query["since"].flatMap(Int.init) ?? -1
        let deadline = ContinuousClock.now + .seconds(10)
        while true {
          if let (version, fragment) = try site.fragment(since: since) {
            return html(fragment, [("X-Version", String(version))])
          }
          guard ContinuousClock.now < deadline else { return Answer(status: .noContent) }
          try await Task.sleep(for: .milliseconds(200))
        }
      default:
        let prefix = "/figures/"
        guard path.hasPrefix(prefix), path.hasSuffix(".svg"),
          let svg = site.figure(named: String(path.dropFirst(prefix.count).dropLast(4)))
        else { return Answer(status: .notFound) }
        return Answer(
          status: .ok, headers: [("Content-Type", "image/svg+xml"), ("Cache-Control", "max-age=3600")],
          body: Array(svg.utf8))
      }
    } catch {
      return Answer(
        status: .internalServerError, headers: [("Content-Type", "text/plain; charset=utf-8")],
        body: Array("cannot read the journal: \(error)\n".utf8))
    }
  }

  /// A page that is never cached.
  static func html(_ text: String, _ headers: [(String, String)] = []) -> Answer {
    Answer(
      status: .ok,
      headers: [("Content-Type", "text/html; charset=utf-8"), ("Cache-Control", "no-store")] + headers,
      body: Array(text.utf8))
  }

  /// The path and the query's `name=value` pairs of a request target (`/live?since=3`).
  static func split(_ uri: String) -> (path: String, query: [String: String]) {
    let parts = uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
    var query: [String: String] = [:]
    if parts.count > 1 {
      for pair in parts[1].split(separator: "&") {
        let halves = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
        query[String(halves[0])] = halves.count > 1 ? String(halves[1]).removingPercentEncoding : ""
      }
    }
    return (String(parts.first ?? ""), query)
  }
}

/// Whether the server is listening yet, set from its task and read by the main thread.
final class ServeStart: Sendable {
  enum State: Sendable {
    case waiting
    case listening(port: Int)
    case failed(String)
  }
  private let current = Mutex(State.waiting)
  var state: State { current.withLock { $0 } }

  func listening(port: Int) { current.withLock { $0 = .listening(port: port) } }

  func failed(_ error: any Error) { current.withLock { $0 = .failed("\(error)") } }
}

/// What `serve` shows, rebuilt from the journal when it changes: the grid whenever a run's state
/// does, the tables and figures when a run finishes or fails. Each rebuild is a new version. Shared
/// by every connection's task; one mutex guards the state.
final class LiveSite: Sendable {
  let directory: String
  private let state: Mutex<LiveState>

  init(directory: String) {
    self.directory = directory
    state = Mutex(LiveState())
  }

  /// The whole page at the current version.
  func page() throws -> String {
    try state.withLock { state in
      try state.refresh(directory: directory)
      return LivePage.page(name: state.name, fragment: state.fragment, version: state.version)
    }
  }

  /// The fragment and its version when it is newer than `since`; nil when not.
  func fragment(since: Int) throws -> (Int, String)? {
    try state.withLock { state in
      try state.refresh(directory: directory)
      return state.version == since ? nil : (state.version, state.fragment)
    }
  }

  /// The SVG of figure `name` as last built.
  func figure(named name: String) -> String? { state.withLock { $0.figures[name] } }

  /// Reads the journal now (a journal that cannot be read throws).
  func refresh() throws { try state.withLock { try $0.refresh(directory: directory) } }
}

/// The page's parts as last built, and what they were built from.
struct LiveState {
  var version = 0
  var name = ""
  var fragment = ""
  var figures: [String: String] = [:]
  private var figureOrder: [String] = []
  private var markdown: String?
  private var seen: String?
  private var finishedSeen: (done: Int, failed: Int)?
  /// Bumped when the figures are redrawn: their URLs carry it, so a browser fetches them again
  /// only then, not at every change of the grid.
  private var figuresVersion = 0
  private var lastRead: ContinuousClock.Instant?

  /// Reads the journal of `directory`, at most every 150 ms whoever asks, and rebuilds what changed.
  mutating func refresh(directory: String) throws {
    if let lastRead, ContinuousClock.now - lastRead < .milliseconds(150) { return }
    lastRead = ContinuousClock.now
    let journal = try Journal(path: SweepRunner.journalPath(directory), readOnly: true)
    let counts = try journal.counts()
    let states = try journal.runStates()
    let holder = ResultsFolderLock.holder(of: directory).map { "coordinator: \($0.description)" }
    let signature =
      "\(counts) \(holder ?? "") " + states.map { "\($0.variant)|\($0.seed)|\($0.state)" }.joined()
    if signature == seen { return }
    if finishedSeen.map({ $0.done != counts.done || $0.failed != counts.failed }) ?? true {
      try rebuildTables(directory: directory, journal: journal)
      finishedSeen = (counts.done, counts.failed)
      figuresVersion += 1
    }
    var shown = states
    if holder == nil {  // leases the journal still shows belong to a stopped coordinator
      for index in shown.indices where shown[index].state == .running { shown[index].state = .pending }
    }
    seen = signature
    version += 1
    fragment = LivePage.fragment(
      name: name, counts: counts, states: shown, coordinator: holder, markdown: markdown,
      figures: figureOrder, figuresVersion: figuresVersion, updated: Date())
  }

  /// The tables and figures of a plain sweep from its journal; a graph's summary.md as last written.
  private mutating func rebuildTables(directory: String, journal: Journal) throws {
    switch try SweepRunner.storedShape(in: directory).document {
    case .sweep(let sweep):
      name = sweep.name
      let built = try ReportBuilder.report(sweep: sweep, journal: journal)
      markdown = built.report.summaryMarkdown
      let drawn = ReportBuilder.figures(of: built.report, experiment: sweep.experiment, runs: built.finished)
      figures = Dictionary(drawn.map { ($0.name, $0.svg) }, uniquingKeysWith: { first, _ in first })
      figureOrder = drawn.map(\.name)
    case .graph(let plan):
      name = plan.graph.name
      markdown = try? String(contentsOfFile: "\(directory)/summary.md", encoding: .utf8)
      figures = [:]
      figureOrder = []
    }
  }
}

/// `serve` could not start.
struct ServeError: Error, UserFacingError {
  var message: String
  var exitCode: Int32
  var userMessage: String { message }
}
