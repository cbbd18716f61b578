import Aggregation
import Coordinator
import Foundation
import Journal

/// The HTML of `metasweep serve`: the progress grid (a row per variant, a column per seed), the
/// tables and the figures of a sweep, as one page whose script swaps in a newer fragment when the
/// journal changes. Everything here is text; ``LiveSite`` decides when to rebuild it.
enum LivePage {
  /// The whole page around `fragment`, version `version`. Its script long-polls: it asks
  /// `/live?since=VERSION`, which answers as soon as the journal changes (or 204 after a while),
  /// swaps in the new fragment, and asks again; after an error it waits 2 s.
  static func page(name: String, fragment: String, version: Int) -> String {
    """
    <!doctype html>
    <html lang="en">
    <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>\(xmlEscaped(name)) · MetaSweep</title>
    <style>
    body { font: 14px/1.45 Helvetica, Arial, sans-serif; color: #222; margin: 24px 32px; max-width: 1280px; }
    h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 17px; margin: 28px 0 8px; }
    .counts { color: #555; margin: 0; }
    table { border-collapse: collapse; margin: 6px 0 14px; }
    th, td { padding: 3px 8px; text-align: left; } thead th { border-bottom: 1px solid #999; }
    .tables td, .tables th { border-bottom: 1px solid #e4e4e4; }
    table.grid th.seed { font-weight: normal; color: #555; text-align: center; min-width: 26px; }
    table.grid td { width: 26px; height: 22px; text-align: center; border: 2px solid #fff; font-size: 12px; }
    td.done { background: #228833; color: #fff; } td.running { background: #4477AA; color: #fff; }
    td.failed { background: #EE6677; color: #fff; } td.pending { background: #e8e8e8; color: #777; }
    .key span { display: inline-block; padding: 0 6px; margin-right: 6px; border-radius: 2px; }
    figure { margin: 10px 0 22px; } figure img { max-width: 100%; border: 1px solid #eee; }
    </style>
    </head>
    <body>
    <main id="live" data-version="\(version)">
    \(fragment)
    </main>
    <script>
    async function refresh() {
      const live = document.getElementById("live");
      let delay = 250;
      try {
        const answer = await fetch("/live?since=" + live.dataset.version, { cache: "no-store" });
        if (answer.status === 200) {
          live.innerHTML = await answer.text();
          live.dataset.version = answer.headers.get("X-Version");
        }
      } catch (error) {
        delay = 2000;  // the server stopped or restarts: keep the last page and ask again
      }
      setTimeout(refresh, delay);
    }
    setTimeout(refresh, 250);
    </script>
    </body>
    </html>

    """
  }

  /// The part that changes: heading and counts, the grid, the tables (`markdown`, rendered) and
  /// the figures (`figures`, file names without `.svg`, fetched at `?v=figuresVersion`).
  static func fragment(
    name: String, counts: JournalCounts, states: [RunState], coordinator: String?, markdown: String?,
    figures: [String], figuresVersion: Int, updated: Date
  ) -> String {
    var out = "<header><h1>\(xmlEscaped(name))</h1>\n"
    let seconds = Int(updated.timeIntervalSince1970) % 86_400
    let time = String(format: "%02d:%02d:%02d", seconds / 3600, seconds / 60 % 60, seconds % 60)
    out +=
      "<p class=\"counts\">\(counts.done) of \(counts.total) runs done, \(counts.leased) running, "
      + "\(counts.failed) failed, \(counts.pending) pending · \(xmlEscaped(coordinator ?? "no coordinator is running")) "
      + "· read from the journal at \(time) UTC</p></header>\n"
    out += "<section class=\"runs\"><h2>Runs</h2>\n" + grid(states)
    out +=
      "<p class=\"key\"><span style=\"background:#228833;color:#fff\">✓ done</span>"
      + "<span style=\"background:#4477AA;color:#fff\">▸ running</span>"
      + "<span style=\"background:#EE6677;color:#fff\">✗ failed</span>"
      + "<span style=\"background:#e8e8e8;color:#777\">· pending</span></p></section>\n"
    if var markdown {
      // The report's title is the page's h1 already.
      if markdown.hasPrefix("# ") { markdown = String(markdown.drop { $0 != "\n" }) }
      out += "<section class=\"tables\"><h2>Tables</h2>\n" + html(markdown: markdown) + "</section>\n"
    }
    if !figures.isEmpty {
      out += "<section class=\"figures\"><h2>Figures</h2>\n"
      for figure in figures {
        out +=
          "<figure><img src=\"/figures/\(xmlEscaped(figure)).svg?v=\(figuresVersion)\" alt=\"\(xmlEscaped(figure))\">"
          + "<figcaption>\(xmlEscaped(figure))</figcaption></figure>\n"
      }
      out += "</section>\n"
    }
    return out
  }

  /// A table per stage (one for a plain sweep): a row per variant in sweep order, a column per
  /// seed, labelled with the seed; each cell says its state by colour, mark and tooltip.
  static func grid(_ states: [RunState]) -> String {
    var out = ""
    for (stage, runs) in SweepStatus.stages(states) {
      var variants: [String] = []
      var cells: [String: [UInt64: RunState.State]] = [:]
      var seeds = Set<UInt64>()
      for run in runs {
        if cells[run.variant] == nil { variants.append(run.variant) }
        cells[run.variant, default: [:]][run.seed] = run.state
        seeds.insert(run.seed)
      }
      let columns = seeds.sorted()
      if !stage.isEmpty { out += "<h3>stage \(xmlEscaped(stage))</h3>\n" }
      out += "<table class=\"grid\"><thead><tr><th>variant</th>"
      for seed in columns { out += "<th class=\"seed\">\(seed)</th>" }
      out += "</tr></thead>\n<tbody>\n"
      for variant in variants {
        out += "<tr><th>\(xmlEscaped(variant))</th>"
        for seed in columns {
          guard let state = cells[variant]?[seed] else {
            out += "<td></td>"
            continue
          }
          let (word, mark) =
            switch state {
            case .done: ("done", "✓")
            case .running: ("running", "▸")
            case .failed: ("failed", "✗")
            case .pending: ("pending", "·")
            }
          out += "<td class=\"\(word)\" title=\"\(xmlEscaped(variant)), seed \(seed): \(word)\">\(mark)</td>"
        }
        out += "</tr>\n"
      }
      out += "</tbody></table>\n"
    }
    return out
  }

  /// HTML of the markdown reports write (summary.md): `#` headings, pipe tables whose second row
  /// sets the alignment (`---:` right), `**bold**`, and paragraphs. Not a general markdown parser:
  /// Ink, the one the package list offers, reads the underscores of `u_drift_task1` as emphasis.
  static func html(markdown: String) -> String {
    var out = ""
    var paragraph: [String] = []
    var table: [[String]] = []
    func cells(_ line: String) -> [String] {
      // Split on | not escaped as \|, dropping the outer pipes.
      var cells: [String] = []
      var cell = ""
      var previous: Character = " "
      for character in line.trimmingCharacters(in: .whitespaces).dropFirst() {
        if character == "|" && previous != "\\" {
          cells.append(cell.trimmingCharacters(in: .whitespaces).replacingOccurrences(of: "\\|", with: "|"))
          cell = ""
        } else {
          cell.append(character)
        }
        previous = character
      }
      return cells
    }
    func inline(_ text: String) -> String {
      let parts = xmlEscaped(text).components(separatedBy: "**")
      return parts.enumerated().map { index, part in
        index % 2 == 1 && index < parts.count - 1 ? "<strong>\(part)</strong>" : part
      }.joined()
    }
    func flush() {
      if !paragraph.isEmpty { out += "<p>" + inline(paragraph.joined(separator: " ")) + "</p>\n" }
      paragraph = []
      guard table.count >= 2 else {
        table = []
        return
      }
      let right = table[1].map { $0.hasSuffix(":") }
      out += "<table><thead><tr>"
      for (index, cell) in table[0].enumerated() {
        out +=
          "<th\(right.indices.contains(index) && right[index] ? " style=\"text-align:right\"" : "")>\(inline(cell))</th>"
      }
      out += "</tr></thead>\n<tbody>\n"
      for row in table.dropFirst(2) {
        out += "<tr>"
        for (index, cell) in row.enumerated() {
          out +=
            "<td\(right.indices.contains(index) && right[index] ? " style=\"text-align:right\"" : "")>\(inline(cell))</td>"
        }
        out += "</tr>\n"
      }
      out += "</tbody></table>\n"
      table = []
    }
    for line in markdown.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) {
      let trimmed = line.trimmingCharacters(in: .whitespaces)
      if trimmed.hasPrefix("|") {
        if !paragraph.isEmpty { flush() }
        table.append(cells(trimmed))
      } else if trimmed.isEmpty {
        flush()
      } else if let level = trimmed.firstIndex(where: { $0 != "#" }).map({
        trimmed.distance(from: trimmed.startIndex, to: $0)
      }),
        level > 0, level <= 4, trimmed.dropFirst(level).first == " "
      {
        flush()
        // The page has its own h1 and h2: the report's headings sit one level below them.
        let tag = "h\(min(level + 2, 6))"
        out += "<\(tag)>" + inline(String(trimmed.dropFirst(level + 1))) + "</\(tag)>\n"
      } else {
        if !table.isEmpty { flush() }
        paragraph.append(trimmed)
      }
    }
    flush()
    return out
  }
}
