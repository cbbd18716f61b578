/// An array of unsigned bytes with its sizes: the content of one u8 IDX file.
///
/// IDX (LeCun, Cortes and Burges, the MNIST format) stores a 4-byte magic number (two zero bytes,
/// the element type, the dimension count), each size as a big-endian u32, then the elements in
/// C order. Only u8 elements (type 0x08) are read and written here: images and labels.
public struct IDXArray: Sendable, Equatable {
  /// The sizes, outermost first: (N, rows, columns) for images, (N) for labels.
  public let dimensions: [Int]
  /// The elements in C order (the last index varies fastest).
  public let values: [UInt8]

  /// An array of `dimensions` holding `values`; `values.count` must be the product of the sizes.
  public init(dimensions: [Int], values: [UInt8]) {
    precondition(!dimensions.isEmpty && dimensions.count <= 255, "IDX arrays have 1 to 255 dimensions")
    precondition(dimensions.allSatisfy { $0 >= 0 && $0 <= Int(UInt32.max) }, "IDX sizes are u32")
    precondition(values.count == dimensions.reduce(1, *), "values must fill the dimensions exactly")
    self.dimensions = dimensions
    self.values = values
  }

  /// The magic number this array is stored under: 0x0000_08_nn for u8 with nn dimensions.
  public var magic: UInt32 { 0x0800 | UInt32(dimensions.count) }
}

/// What an IDX file of a dataset holds, which fixes its magic number.
public enum IDXKind: Sendable, Equatable {
  /// N × rows × columns u8 pixels, magic 0x00000803 (2051).
  case images
  /// N u8 class labels, magic 0x00000801 (2049).
  case labels

  /// The magic number files of this kind start with.
  public var magic: UInt32 {
    switch self {
    case .images: 0x0000_0803
    case .labels: 0x0000_0801
    }
  }

  /// The number of dimensions, the magic number's last byte.
  public var dimensionCount: Int { Int(magic & 0xFF) }
}

/// Whether a file is written as it is or gzipped.
public enum IDXCompression: Sendable, Equatable, CaseIterable {
  /// The IDX bytes as they are.
  case none
  /// One gzip member (RFC 1952) of the IDX bytes, at zlib's default level; file names end in `.gz`.
  case gzip
}
