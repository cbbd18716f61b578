import CZeroMQ

/// Z85, ZeroMQ's printable encoding of binary data (RFC 32): every 4 bytes become 5 characters
/// from an 85-character alphabet that needs no quoting in a shell or a text file.
///
/// CURVE keys are 32 bytes, so 40 characters in Z85.
public enum Z85 {
  /// The 85 characters, in value order.
  public static let alphabet = Array(
    "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#".utf8)

  /// The character for each value, and -1 for a byte that is not in the alphabet.
  private static let values: [Int16] = {
    var table = [Int16](repeating: -1, count: 256)
    for (value, character) in alphabet.enumerated() { table[Int(character)] = Int16(value) }
    return table
  }()

  /// Encodes `bytes`, whose count must be a multiple of 4.
  public static func encode(_ bytes: [UInt8]) throws(ZMQError) -> String {
    guard bytes.count % 4 == 0 else {
      throw ZMQError(
        code: .invalidArgument,
        message:
          "Cannot Z85-encode \(bytes.count) bytes: the count must be a multiple of 4 (a CURVE key is 32).")
    }
    guard !bytes.isEmpty else { return "" }
    var text = [CChar](repeating: 0, count: bytes.count / 4 * 5 + 1)
    let result = bytes.withUnsafeBufferPointer { zmq_z85_encode(&text, $0.baseAddress, $0.count) }
    guard result != nil else { throw ZMQError.last("Z85-encode \(bytes.count) bytes") }
    return String(decoding: text.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
  }

  /// Decodes `text`: its length must be a multiple of 5, every character must be in ``alphabet``,
  /// and every 5-character group must stand for a value below 2^32.
  ///
  /// The error message names the problem but never repeats the text, which may be a secret key.
  public static func decode(_ text: String) throws(ZMQError) -> [UInt8] {
    let characters = Array(text.utf8)
    if let problem = problem(with: characters) {
      throw ZMQError(code: .invalidArgument, message: "Not valid Z85 text: \(problem).")
    }
    guard !characters.isEmpty else { return [] }
    var bytes = [UInt8](repeating: 0, count: characters.count / 5 * 4)
    let result = (characters.map { CChar(bitPattern: $0) } + [0]).withUnsafeBufferPointer {
      zmq_z85_decode(&bytes, $0.baseAddress)
    }
    guard result != nil else { throw ZMQError.last("Z85-decode \(characters.count) characters") }
    return bytes
  }

  /// Whether `text` is a Z85 CURVE key: 40 valid characters.
  public static func isValidKey(_ text: String) -> Bool {
    let characters = Array(text.utf8)
    return characters.count == 40 && problem(with: characters) == nil
  }

  /// What is wrong with `characters` as Z85, or nil if nothing is.
  static func problem(with characters: [UInt8]) -> String? {
    guard characters.count % 5 == 0 else {
      return "\(characters.count) characters, but the length must be a multiple of 5 (a CURVE key is 40)"
    }
    var index = 0
    while index < characters.count {
      var value: UInt64 = 0
      for offset in 0..<5 {
        let digit = values[Int(characters[index + offset])]
        guard digit >= 0 else {
          return "character \(index + offset + 1) is not in the Z85 alphabet"
        }
        value = value * 85 + UInt64(digit)
      }
      guard value <= UInt64(UInt32.max) else {
        return "characters \(index + 1)-\(index + 5) stand for a value above 2^32-1"
      }
      index += 5
    }
    return nil
  }
}
