import ArgumentParser
import FlyingFox
import Foundation
import Journal
import SweepModel

struct ServeCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "serve",
    abstract:
      "Show a sweep in a web browser, live: its runs by variant and seed, its tables and its figures.",
    discussion: """
      Reads the journal (read-only, safe while the sweep runs) and serves one page that updates itself
      every 2 s: a grid of the runs (a row per variant, a column per seed), summary.md's tables and the
      figures, rebuilt from the journal whenever a run finishes. Loopback only unless --bind says otherwise.
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
      let path = SweepRunner.journalPath(directory)
      guard FileManager.default.fileExists(atPath: path) else {
        throw SpecError(
          file: path, location: nil, field: "",
          message: "no journal here: is \(directory) a sweep's output folder?")
      }
      guard let address = try? sockaddr_in.inet(ip4: bind, port: port) else {
        throw ServeError(message: "--bind \(bind): not an IPv4 address", exitCode: 2)
      }
      let site = LiveSite(directory: directory)
      _ = try site.refresh()  // a journal that cannot be read fails here, before the server starts
      let server = HTTPServer(address: address, logger: .disabled)
      let started = ServeStart()
      Task {
        await Self.addRoutes(to: server, site: site)
        do {
          let runner = Task { try await server.run() }
          try await server.waitUntilListening()
          var port: UInt16 = 0
          if case .ip4(_, let listening)? = await server.listeningAddress { port = listening }
          started.listening(port: port)
          try await runner.value
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

  /// The page, its live fragment, and the figures, all from `site`; nothing else is served.
  static func addRoutes(to server: HTTPServer, site: LiveSite) async {
    await server.appendRoute("GET /") { _ in
      html(try site.page())
    }
    // A long poll: answered when the fragment is newer than the page's, or with 204 after 10 s
    // (under the server's 15 s limit for a request).
    await server.appendRoute("GET /live") { request in
      let since = request.query["since"].flatMap(Int.init) ?? -1
      let deadline = ContinuousClock.now + .seconds(10)
      while true {
        if let (version, fragment) = try site.fragment(since: since) {
          return html(fragment, [HTTPHeader("X-Version"): String(version)])
        }
        guard ContinuousClock.now < deadline else { return HTTPResponse(statusCode: .noContent) }
        try await Task.sleep(for: .milliseconds(200))
      }
    }
    await server.appendRoute("GET /figures/*") { request in
      let file = String(request.path.dropFirst("/figures/".count))
      guard file.hasSuffix(".svg"), let svg = site.figure(named: String(file.dropLast(4))) else {
        return HTTPResponse(statusCode: .notFound)
      }
      return HTTPResponse(
        statusCode: .ok, headers: [.contentType: "image/svg+xml", .cacheControl: "max-age=3600"],
        body: Data(svg.utf8))
    }
  }
}

/// A page that is never cached.
private func html(_ text: String, _ headers: HTTPHeaders = [:]) -> HTTPResponse {
  var headers = headers
  headers[.contentType] = "text/html; charset=utf-8"
  headers[.cacheControl] = "no-store"
  return HTTPResponse(statusCode: .ok, headers: headers, body: Data(text.utf8))
}

/// Whether the server is listening yet, set from its task and read by the main thread.
final class ServeStart: @unchecked Sendable {
  enum State {
    case waiting
    case listening(port: UInt16)
    case failed(any Error)
  }
  private let lock = NSLock()
  private var current = State.waiting
  var state: State { lock.withLock { current } }

  func listening(port: UInt16) { lock.withLock { current = .listening(port: port) } }

  func failed(_ error: any Error) { lock.withLock { current = .failed(error) } }
}

/// What `serve` shows, rebuilt from the journal when it changes: the grid whenever a run's state
/// does, the tables and figures when a run finishes or fails. Each rebuild is a new version.
final class LiveSite: @unchecked Sendable {
  let directory: String
  private let lock = NSLock()
  private var version = 0
  private var seen: String?
  private var finishedSeen: (done: Int, failed: Int)?
  private var markdown: String?
  private var figures: [String: String] = [:]
  private var figureOrder: [String] = []
  private var name = ""
  private var fragmentText = ""

  init(directory: String) { self.directory = directory }

  /// The whole page at the current version.
  func page() throws -> String {
    let version = try refresh()
    return lock.withLock { LivePage.page(name: name, fragment: fragmentText, version: version) }
  }

  /// The fragment and its version when it is newer than `since`; nil when not.
  func fragment(since: Int) throws -> (Int, String)? {
    let version = try refresh()
    return lock.withLock { version == since ? nil : (version, fragmentText) }
  }

  /// The SVG of figure `name` as last built.
  func figure(named name: String) -> String? { lock.withLock { figures[name] } }

  private var lastRead: ContinuousClock.Instant?

  /// Reads the journal, at most every 150 ms whoever asks; rebuilds what changed. Returns the version.
  @discardableResult
  func refresh() throws -> Int {
    try lock.withLock {
      if let lastRead, ContinuousClock.now - lastRead < .milliseconds(150) { return version }
      lastRead = ContinuousClock.now
      let journal = try Journal(path: SweepRunner.journalPath(directory), readOnly: true)
      let counts = try journal.counts()
      let states = try journal.runStates()
      let holder = ResultsFolderLock.holder(of: directory).map { "coordinator: \($0.description)" }
      let signature =
        "\(counts) \(holder ?? "") " + states.map { "\($0.variant)|\($0.seed)|\($0.state)" }.joined()
      if signature == seen { return version }
      if finishedSeen.map({ $0.done != counts.done || $0.failed != counts.failed }) ?? true {
        try rebuildTables(journal: journal)
        finishedSeen = (counts.done, counts.failed)
      }
      var shown = states
      if holder == nil {  // leases the journal still shows belong to a stopped coordinator
        for index in shown.indices where shown[index].state == .running { shown[index].state = .pending }
      }
      seen = signature
      version += 1
      fragmentText = LivePage.fragment(
        name: name, counts: counts, states: shown, coordinator: holder, markdown: markdown,
        figures: figureOrder,
        version: version, updated: Date())
      return version
    }
  }

  /// The tables and figures of a plain sweep from its journal; a graph's summary.md as last written.
  private func rebuildTables(journal: Journal) throws {
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
