import Foundation
import Journal
import Testing

/// `metasweep serve` watched in a real browser: Debian's chromium, headless (tools/setup installs it).
@Suite(.serialized) struct ServeEndToEndTests {
  static let chromium = "/usr/bin/chromium"

  /// Chromium's DOM of `url` after its scripts ran for `budget` ms of virtual time (which stands
  /// still while a request is open, so a long poll holds it for as long as the server does: under
  /// 250 ms the page's first poll never starts).
  static func dom(_ url: String, budget: Int, in directory: URL) throws -> String {
    try Binary.runTool(
      chromium,
      ["--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=\(budget)", "--dump-dom", url],
      in: directory
    ).stdout
  }

  /// `GET url` by Python's urllib: the status, the content type and the body.
  static func get(_ url: String, in directory: URL) throws -> (status: Int, type: String, body: String) {
    let script = """
      import sys, urllib.request, urllib.error
      try:
          r = urllib.request.urlopen(sys.argv[1])
          print(r.status, r.headers.get("Content-Type")); sys.stdout.write(r.read().decode())
      except urllib.error.HTTPError as e:
          print(e.code, "-")
      """
    let out = try Binary.runTool("/usr/bin/env", ["python3", "-c", script, url], in: directory).stdout
    let first = out.prefix { $0 != "\n" }.split(separator: " ", maxSplits: 1)
    return (
      Int(first.first ?? "") ?? 0, first.count > 1 ? String(first[1]) : "",
      String(out.drop { $0 != "\n" }.dropFirst())
    )
  }

  static func matches(_ pattern: String, in text: String) -> [String] {
    guard let regex = try? Regex(pattern) else { return [] }
    return text.matches(of: regex).map { String(text[$0.range]) }
  }

  @Test func serve_showsTheGridTablesAndFigures_andFollowsARunningSweep_inChromium() throws {
    try #require(
      FileManager.default.isExecutableFile(atPath: Self.chromium),
      "no \(Self.chromium): tools/setup installs it")
    let dir = try makeScratchDirectory()
    let spec = dir.appendingPathComponent("live.yaml").path
    try """
    name: live
    experiment: geoff
    seeds: 0..<3
    fixed: {examples_per_task: 3000, hidden_units: 30, target_features: 80, bin_size: 100}
    variants:
      backprop: {algorithm: backprop}
      crossprop: {algorithm: crossprop, eta: 0.5}
    """.write(toFile: spec, atomically: true, encoding: .utf8)
    let out = dir.appendingPathComponent("results/live")
    let sweep = try Binary.Running(["run", spec, "--workers", "1"], directory: dir)
    defer { _ = sweep.wait(timeout: 120) }
    // Freeze the sweep after its first run: the page must then show it as it is.
    #expect(waitUntil(timeout: 60) { checkDone(out) >= 1 })
    let workers = childProcesses(of: sweep.pid)
    #expect(!workers.isEmpty)
    for worker in workers { kill(worker, SIGSTOP) }
    var stopped = true
    defer { if stopped { for worker in workers { kill(worker, SIGCONT) } } }

    let server = try Binary.Running(["serve", out.path, "--port", "0"], directory: dir)
    defer {
      kill(server.pid, SIGTERM)
      _ = server.wait(timeout: 10)
    }
    var url = ""
    #expect(
      waitUntil(timeout: 20) {
        let text = (try? String(contentsOfFile: server.stdoutPath, encoding: .utf8)) ?? ""
        url = Self.matches("http://127\\.0\\.0\\.1:[0-9]+/", in: text).first ?? ""
        return !url.isEmpty
      })
    try #require(!url.isEmpty, "serve printed no address")

    // The frozen sweep, as the browser sees it: a grid row per variant, a column per seed labelled
    // with it, the runs done so far in the counts and as ✓ cells.
    let doneBefore = checkDone(out)
    let frozen = try Self.dom(url, budget: 200, in: dir)
    #expect(frozen.contains("<h1>live</h1>"), "\(frozen.prefix(600))")
    #expect(frozen.contains("\(doneBefore) of 6 runs done"), "\(frozen.prefix(1200))")
    #expect(frozen.contains("<th class=\"seed\">0</th><th class=\"seed\">1</th><th class=\"seed\">2</th>"))
    #expect(frozen.contains("<tr><th>backprop</th>") && frozen.contains("<tr><th>crossprop</th>"))
    #expect(Self.matches("title=\"[a-z]+, seed [0-9]: done\"", in: frozen).count == doneBefore)
    let versionBefore = Int(
      Self.matches("data-version=\"[0-9]+\"", in: frozen).first?.dropFirst(14).dropLast() ?? "")
    try #require(versionBefore != nil)

    // Thaw the sweep while the page is open: its long poll brings each change in, so the DOM
    // after a few polls is newer than the one it loaded (only the page's script can make it so).
    // 750 ms of virtual time is three polls, the first held until the thaw.
    let browser = try Binary.Running(
      [
        "--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=750", "--dump-dom", url,
      ], directory: dir, executable: Self.chromium)
    usleep(1_500_000)
    for worker in workers { kill(worker, SIGCONT) }
    stopped = false
    let followed = browser.wait(timeout: 120).stdout
    let versionAfter = Int(
      Self.matches("data-version=\"[0-9]+\"", in: followed).first?.dropFirst(14).dropLast() ?? "")
    #expect((versionAfter ?? 0) > versionBefore!, "\(versionAfter ?? -1) after, \(versionBefore!) before")
    let doneText = Self.matches("[0-9] of 6 runs done", in: followed).first ?? ""
    #expect(Int(doneText.prefix(1)).map { $0 > doneBefore } ?? false, "\(doneText); \(doneBefore) before")

    // At the end: all done, the tables (metric names intact) and every figure, fetched as SVG.
    #expect(sweep.wait(timeout: 120).status == 0)
    #expect(
      waitUntil(timeout: 10) {
        (try? Self.dom(url, budget: 200, in: dir))?.contains("6 of 6 runs done") ?? false
      })
    let final = try Self.dom(url, budget: 200, in: dir)
    #expect(Self.matches("title=\"[a-z]+, seed [0-9]: done\"", in: final).count == 6)
    #expect(final.contains("<th style=\"text-align:right\">u_drift_task1</th>"), "\(final)")
    #expect(final.contains("no coordinator is running"))
    let figures = Self.matches("/figures/[a-z_]+\\.svg\\?v=[0-9]+", in: final)
    #expect(figures.count == 3, "\(figures)")
    for figure in figures {
      let (status, type, body) = try Self.get(String(url.dropLast()) + figure, in: dir)
      #expect(
        status == 200 && type == "image/svg+xml" && body.contains("<svg"), "\(figure): \(status) \(type)")
    }
    #expect(try Self.get(url + "figures/../journal.sqlite", in: dir).status == 404)
    #expect(try Self.get(url + "figures/nothing.svg", in: dir).status == 404)

    // Garbage on the port (random bytes, a request line of 100 kB, a POST, a half request) closes
    // those connections and nothing else: the page is served as before.
    let garbage = """
      import os, socket, sys
      host, port = sys.argv[1], int(sys.argv[2])
      for payload in [os.urandom(4096), b"GET /" + b"a" * 100000 + b" HTTP/1.1\\r\\n\\r\\n",
                      b"POST / HTTP/1.1\\r\\nContent-Length: 3\\r\\n\\r\\nabc", b"GET / HT"]:
          s = socket.create_connection((host, port)); s.sendall(payload); s.settimeout(2)
          try: s.recv(100)
          except OSError: pass
          s.close()
      """
    let port = String(url.dropFirst("http://127.0.0.1:".count).dropLast())
    _ = try Binary.runTool("/usr/bin/env", ["python3", "-c", garbage, "127.0.0.1", port], in: dir)
    #expect(try Self.get(url, in: dir).status == 200)
    #expect(try Self.get(url, in: dir).body.contains("6 of 6 runs done"))

    // A screenshot of the finished page (looked at when this test was written; kept with
    // METASWEEP_FIGURE_DIR): a real PNG of the whole layout.
    let png = dir.appendingPathComponent("serve.png").path
    _ = try Binary.runTool(
      Self.chromium,
      [
        "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--window-size=1100,1500",
        "--virtual-time-budget=200", "--screenshot=\(png)", url,
      ], in: dir)
    let bytes = try Data(contentsOf: URL(fileURLWithPath: png))
    #expect(bytes.starts(with: [0x89, 0x50, 0x4E, 0x47]) && bytes.count > 50_000, "\(bytes.count) bytes")
    if let folder = ProcessInfo.processInfo.environment["METASWEEP_FIGURE_DIR"] {
      try? FileManager.default.copyItem(atPath: png, toPath: folder + "/serve.png")
    }
  }

  @Test func serve_refusesAFolderWithoutAJournal_andABadAddress_withExit2() throws {
    let dir = try makeScratchDirectory()
    let missing = try Binary.run(["serve", dir.path, "--port", "0"], in: dir)
    #expect(missing.status == 2 && missing.stderr.contains("no journal here"), "\(missing.stderr)")
    let spec = dir.appendingPathComponent("s.yaml").path
    try "name: tiny\nexperiment: noop\nseeds: 1\nvariants: {a: {}}\n".write(
      toFile: spec, atomically: true, encoding: .utf8)
    #expect(try Binary.run(["run", spec, "--workers", "1"], in: dir).status == 0)
    let bad = try Binary.run(["serve", "results/tiny", "--bind", "localhost:80"], in: dir)
    #expect(
      bad.status == 2 && bad.stderr.contains("--bind localhost:80: not an IPv4 address"), "\(bad.stderr)")
  }
}

/// Runs with an outcome in the results folder `directory` (0 while no journal can be read).
private func checkDone(_ directory: URL) -> Int {
  let path = directory.appendingPathComponent("journal.sqlite").path
  guard FileManager.default.fileExists(atPath: path),
    let counts = try? Journal(path: path, readOnly: true).counts()
  else { return 0 }
  return counts.done
}
