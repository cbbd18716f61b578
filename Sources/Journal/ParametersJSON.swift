import SweepModel

/// Reads back the flat JSON objects that ``CanonicalJSON/parameters(_:)`` writes.
///
/// Only the form the journal stores is accepted: one object of `"name": scalar` fields. Numbers
/// written with `.`, `e` or `E` become `.double`, others `.int`, so
/// `decode(CanonicalJSON.parameters(p)) == p` and re-encoding reproduces the text byte for byte.
/// `null` becomes `.double(.nan)`, because that is how a non-finite double is written.
public enum ParametersJSON {
  public static func decode(_ text: String) throws -> Parameters {
    var parser = Parser(Array(text.utf8))
    return try parser.object()
  }

  struct Parser {
    let bytes: [UInt8]
    var offset = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    func error(_ problem: String) -> JournalError {
      JournalError(
        .corruptData,
        "Stored run parameters are not a flat JSON object (\(problem) at byte \(offset)). "
          + "The journal is damaged; restore it from a backup or start the sweep in a new folder.")
    }

    var peek: UInt8? { offset < bytes.count ? bytes[offset] : nil }

    mutating func skipSpace() {
      while let b = peek, b == 0x20 || b == 0x0A || b == 0x0D || b == 0x09 { offset += 1 }
    }

    mutating func expect(_ byte: UInt8) throws {
      skipSpace()
      guard peek == byte else { throw error("expected '\(Character(Unicode.Scalar(byte)))'") }
      offset += 1
    }

    mutating func object() throws -> Parameters {
      var result: Parameters = [:]
      try expect(UInt8(ascii: "{"))
      skipSpace()
      if peek == UInt8(ascii: "}") {
        offset += 1
      } else {
        while true {
          skipSpace()
          let name = try string()
          try expect(UInt8(ascii: ":"))
          let value = try scalar()
          guard result.updateValue(value, forKey: name) == nil else {
            throw error("duplicate name \"\(name)\"")
          }
          skipSpace()
          if peek == UInt8(ascii: ",") {
            offset += 1
            continue
          }
          try expect(UInt8(ascii: "}"))
          break
        }
      }
      skipSpace()
      guard offset == bytes.count else { throw error("trailing text") }
      return result
    }

    mutating func literal(_ word: String) -> Bool {
      let w = Array(word.utf8)
      guard bytes.count - offset >= w.count, Array(bytes[offset..<offset + w.count]) == w else {
        return false
      }
      offset += w.count
      return true
    }

    mutating func scalar() throws -> ParameterValue {
      skipSpace()
      guard let b = peek else { throw error("missing value") }
      switch b {
      case UInt8(ascii: "\""): return .string(try string())
      case UInt8(ascii: "t") where literal("true"): return .bool(true)
      case UInt8(ascii: "f") where literal("false"): return .bool(false)
      case UInt8(ascii: "n") where literal("null"): return .double(.nan)
      case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try number()
      default: throw error("unexpected value")
      }
    }

    mutating func number() throws -> ParameterValue {
      let start = offset
      var isDouble = false
      scan: while let b = peek {
        switch b {
        case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "+"): offset += 1
        case UInt8(ascii: "."), UInt8(ascii: "e"), UInt8(ascii: "E"):
          isDouble = true
          offset += 1
        default: break scan
        }
      }
      let text = String(decoding: bytes[start..<offset], as: UTF8.self)
      if isDouble {
        guard let x = Double(text) else { throw error("bad number \(text)") }
        return .double(x)
      }
      guard let n = Int(text) else { throw error("bad integer \(text)") }
      return .int(n)
    }

    mutating func hex4() throws -> UInt32 {
      guard bytes.count - offset >= 4 else { throw error("truncated \\u escape") }
      var value: UInt32 = 0
      for _ in 0..<4 {
        let b = bytes[offset]
        let digit: UInt32
        switch b {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(b - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(b - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(b - UInt8(ascii: "A") + 10)
        default: throw error("bad \\u escape")
        }
        value = value << 4 | digit
        offset += 1
      }
      return value
    }

    mutating func string() throws -> String {
      try expect(UInt8(ascii: "\""))
      var utf8: [UInt8] = []
      while true {
        guard let b = peek else { throw error("unterminated string") }
        offset += 1
        switch b {
        case UInt8(ascii: "\""):
          guard let s = String(validating: utf8, as: UTF8.self) else { throw error("string is not UTF-8") }
          return s
        case UInt8(ascii: "\\"):
          guard let e = peek else { throw error("unterminated escape") }
          offset += 1
          let scalar: Unicode.Scalar
          switch e {
          case UInt8(ascii: "\""): scalar = "\""
          case UInt8(ascii: "\\"): scalar = "\\"
          case UInt8(ascii: "/"): scalar = "/"
          case UInt8(ascii: "b"): scalar = "\u{08}"
          case UInt8(ascii: "f"): scalar = "\u{0C}"
          case UInt8(ascii: "n"): scalar = "\n"
          case UInt8(ascii: "r"): scalar = "\r"
          case UInt8(ascii: "t"): scalar = "\t"
          case UInt8(ascii: "u"):
            var code = try hex4()
            if (0xD800..<0xDC00).contains(code) {
              guard literal("\\u") else { throw error("lone surrogate") }
              let low = try hex4()
              guard (0xDC00..<0xE000).contains(low) else { throw error("lone surrogate") }
              code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
            }
            guard let s = Unicode.Scalar(code) else { throw error("invalid code point") }
            scalar = s
          default: throw error("unknown escape")
          }
          utf8.append(contentsOf: Array(String(Character(scalar)).utf8))
        default:
          utf8.append(b)
        }
      }
    }
  }
}
