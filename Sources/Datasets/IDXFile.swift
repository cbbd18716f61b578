/// Reads and writes u8 IDX files, plain or gzipped.
///
/// Reading checks, in this order, and throws a ``DatasetError`` naming the file and the field:
/// - the magic number: two zero bytes (`magic`), element type u8 (`type`), the dimension count of
///   the expected ``IDXKind`` (`magic`);
/// - the sizes: none zero but the count N, and their product a sane size (`dimensions`);
/// - the length: the file (once inflated, for gzip) is exactly the header plus the product of the
///   sizes, no byte fewer or more (`size`), and a gzip stream is whole and its CRC-32 matches
///   (`compression`).
///
/// A gzipped file (first bytes `1F 8B`) reads to the same ``IDXArray`` as its plain copy; it is
/// inflated by zlib straight into an array of the size the header announces.
public enum IDXFile {
  /// The most a deflate stream can expand (1032:1, from its longest run encoding): a gzip file
  /// whose header announces more data than its length allows is refused before anything is
  /// allocated.
  static let maximumDeflateRatio = 1032

  /// The array in the file at `path`, which must be of `kind`.
  public static func read(_ kind: IDXKind, at path: String) throws(DatasetError) -> IDXArray {
    let input = try FileInput(path: path)
    let inflated = input.isGzipped ? " once inflated" : ""
    func error(_ code: DatasetError.Code, _ field: DatasetError.Field, _ message: String) -> DatasetError {
      DatasetError(code, path: path, field: field, message)
    }

    let magicBytes = try input.readBytes(count: 4)
    guard magicBytes.count == 4 else {
      throw error(
        .truncated, .size,
        "the file is \(magicBytes.count) bytes\(inflated), too short for an IDX magic number: copy it again")
    }
    let magic = magicBytes.reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
    guard magicBytes[0] == 0 && magicBytes[1] == 0 else {
      throw error(
        .malformed, .magic,
        "starts with \(hex(magic)), not an IDX magic number (\(hex(kind.magic)) for \(kind.noun)): is this an IDX file?"
      )
    }
    guard magicBytes[2] == 0x08 else {
      throw error(
        .malformed, .type,
        "element type \(hex(magicBytes[2])) (\(typeName(magicBytes[2]))); \(kind.noun) are u8 (0x08): convert the file to u8"
      )
    }
    let dimensionCount = Int(magicBytes[3])
    guard dimensionCount == kind.dimensionCount else {
      throw error(
        .malformed, .magic,
        "magic \(hex(magic)) (\(dimensionCount) dimensions), but \(kind.noun) have \(hex(kind.magic)) (\(kind.dimensionCount)): are the images and labels files swapped?"
      )
    }

    let headerLength = 4 + 4 * dimensionCount
    let sizeBytes = try input.readBytes(count: 4 * dimensionCount)
    guard sizeBytes.count == 4 * dimensionCount else {
      throw error(
        .truncated, .size,
        "the file is \(4 + sizeBytes.count) bytes\(inflated) and ends inside its \(headerLength)-byte header: copy it again"
      )
    }
    let dimensions = (0..<dimensionCount).map { d in
      sizeBytes[(4 * d)..<(4 * d + 4)].reduce(0) { $0 << 8 | Int($1) }
    }
    let shape = dimensions.map(String.init).joined(separator: " × ")
    guard dimensions.dropFirst().allSatisfy({ $0 > 0 }) else {
      throw error(.malformed, .dimensions, "sizes \(shape): an image has no pixels; the header is damaged")
    }
    var count = 1
    for size in dimensions {
      let (product, overflow) = count.multipliedReportingOverflow(by: size)
      guard !overflow else {
        throw error(.tooLarge, .dimensions, "sizes \(shape) multiply past \(Int.max): the header is damaged")
      }
      count = product
    }

    if input.isGzipped {
      guard count / maximumDeflateRatio <= input.fileSize else {
        throw error(
          .tooLarge, .dimensions,
          "sizes \(shape) announce \(count) bytes, more than a \(input.fileSize)-byte gzip file can inflate to: the header is damaged"
        )
      }
    } else if input.fileSize != headerLength + count {
      let announced = "its header (\(shape)) announces \(headerLength + count)"
      if input.fileSize < headerLength + count {
        throw error(
          .truncated, .size,
          "the file is \(input.fileSize) bytes but \(announced): it was cut short; copy or download it again")
      }
      throw error(
        .trailingBytes, .size,
        "the file is \(input.fileSize) bytes but \(announced): the header or the file is damaged; copy it again"
      )
    }

    let values = try input.readBytes(count: count)
    guard values.count == count else {
      throw error(
        .truncated, .size,
        "the file inflates to \(headerLength + values.count) bytes but its header (\(shape)) announces \(headerLength + count): it was cut short before it was gzipped; copy it again"
      )
    }
    if input.isGzipped {
      // Reading on to the end of the stream also makes zlib check the CRC-32 and length.
      let extra = try input.readBytes(count: 1 << 16)
      guard extra.isEmpty else {
        throw error(
          .trailingBytes, .size,
          "the file inflates to more than the \(headerLength + count) bytes its header (\(shape)) announces: the header or the file is damaged; copy it again"
        )
      }
    }
    return IDXArray(dimensions: dimensions, values: values)
  }

  /// `0x` and eight hex digits.
  static func hex(_ value: UInt32) -> String {
    let digits = String(value, radix: 16, uppercase: true)
    return "0x" + String(repeating: "0", count: 8 - digits.count) + digits
  }

  /// `0x` and two hex digits.
  static func hex(_ value: UInt8) -> String {
    let digits = String(value, radix: 16, uppercase: true)
    return "0x" + (digits.count == 1 ? "0" : "") + digits
  }

  /// The IDX name of element type `type` (0x08 u8, ..., 0x0E f64).
  static func typeName(_ type: UInt8) -> String {
    switch type {
    case 0x08: "u8"
    case 0x09: "i8"
    case 0x0B: "i16"
    case 0x0C: "i32"
    case 0x0D: "f32"
    case 0x0E: "f64"
    default: "not an IDX type"
    }
  }
}

extension IDXKind {
  /// What files of this kind hold, for messages ("images files").
  var noun: String {
    switch self {
    case .images: "images files"
    case .labels: "labels files"
    }
  }
}
