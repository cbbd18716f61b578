import CZlib

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// The bytes of one file, read front to back; a gzipped file (first bytes `1F 8B`) is inflated by
/// zlib as it is read, so callers see the same bytes either way.
///
/// Owns its file descriptor and, for a gzip file, its zlib stream and input buffer; frees them in
/// `deinit`. Used by one thread at a time (it is not `Sendable`).
final class FileInput {
  /// The path, for error messages.
  let path: String
  /// The file's length on disk (compressed, for a gzip file).
  let fileSize: Int
  /// Whether the file is gzipped, judged by its first two bytes.
  let isGzipped: Bool
  private let descriptor: Int32
  private var gzip: GzipStream?

  /// Opens `path` and looks at its first two bytes.
  init(path: String) throws(DatasetError) {
    self.path = path
    let descriptor = open(path, O_RDONLY | O_CLOEXEC)
    guard descriptor >= 0 else {
      let number = errno
      if number == ENOENT {
        throw DatasetError(.missingFile, path: path, field: .file, "no such file: check the path")
      }
      throw DatasetError(
        .ioFailure, path: path, field: .file, "cannot open it: check its permissions",
        cause: SystemCallError("open", number: number))
    }
    var status = stat()
    guard fstat(descriptor, &status) == 0 else {
      let number = errno
      close(descriptor)
      throw DatasetError(
        .ioFailure, path: path, field: .file, "cannot read its size",
        cause: SystemCallError("fstat", number: number))
    }
    guard (status.st_mode & S_IFMT) == S_IFREG else {
      close(descriptor)
      throw DatasetError(
        .ioFailure, path: path, field: .file, "is not a regular file: give the path of an IDX file")
    }
    self.descriptor = descriptor
    fileSize = Int(status.st_size)
    var magic: (UInt8, UInt8) = (0, 0)
    let peeked = withUnsafeMutableBytes(of: &magic) { pread(descriptor, $0.baseAddress, 2, 0) }
    isGzipped = peeked == 2 && magic == (0x1F, 0x8B)
  }

  deinit {
    gzip?.end()
    close(descriptor)
  }

  /// Fills `buffer` from the file (inflated when gzipped); returns how many bytes it read, fewer
  /// than `buffer.count` only at the end of the content.
  func read(into buffer: UnsafeMutableRawBufferPointer) throws(DatasetError) -> Int {
    guard buffer.count > 0 else { return 0 }
    if isGzipped {
      if gzip == nil { gzip = try GzipStream(path: path) }
      return try gzip!.inflate(into: buffer, from: descriptor)
    }
    return try readRaw(into: buffer)
  }

  /// The next `count` bytes (inflated when gzipped); fewer only at the end of the content.
  func readBytes(count: Int) throws(DatasetError) -> [UInt8] {
    var failure: DatasetError?
    let bytes = [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
      do throws(DatasetError) {
        initialized = try read(into: UnsafeMutableRawBufferPointer(buffer))
      } catch {
        failure = error
        initialized = 0
      }
    }
    if let failure { throw failure }
    return bytes
  }

  /// Fills `buffer` from the file as stored; fewer bytes only at its end.
  private func readRaw(into buffer: UnsafeMutableRawBufferPointer) throws(DatasetError) -> Int {
    try FileInput.readRaw(descriptor, into: buffer, path: path)
  }

  /// Fills `buffer` from `descriptor`, retrying short reads and interruptions.
  static func readRaw(_ descriptor: Int32, into buffer: UnsafeMutableRawBufferPointer, path: String)
    throws(DatasetError) -> Int
  {
    var done = 0
    while done < buffer.count {
      // Linux reads at most 0x7ffff000 bytes per call.
      let wanted = min(buffer.count - done, 1 << 30)
      let got = systemRead(descriptor, buffer.baseAddress! + done, wanted)
      if got < 0 {
        if errno == EINTR { continue }
        throw DatasetError(
          .ioFailure, path: path, field: .file,
          "cannot read it: the disk or the file system reported an error",
          cause: SystemCallError("read"))
      }
      if got == 0 { break }
      done += got
    }
    return done
  }
}

/// `read(2)`, named apart from ``FileInput/read(into:)``.
private func systemRead(_ descriptor: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int) -> Int {
  read(descriptor, buffer, count)
}

/// zlib's inflate state for one gzip file, with its compressed-input buffer.
///
/// Handles several gzip members in a row (as `cat a.gz b.gz` makes), as `gunzip` does; each
/// member's CRC-32 and length are checked by zlib when its end is read.
private struct GzipStream {
  /// Compressed bytes read from the file per `read` call.
  static let inputChunk = 1 << 18

  let path: String
  /// Heap-allocated because zlib keeps a pointer to it: it must never move.
  private let stream: UnsafeMutablePointer<z_stream>
  private let input: UnsafeMutableRawBufferPointer
  private var isInputExhausted = false
  private var isFinished = false

  init(path: String) throws(DatasetError) {
    self.path = path
    stream = .allocate(capacity: 1)
    stream.initialize(to: z_stream())
    input = .allocate(byteCount: Self.inputChunk, alignment: 16)
    let status = metasweep_inflate_init_auto(stream)
    guard status == Z_OK else {
      stream.deallocate()
      input.deallocate()
      throw DatasetError(
        .badCompression, path: path, field: .compression, "zlib could not start inflating (status \(status))")
    }
  }

  /// Frees zlib's state and the buffers.
  func end() {
    inflateEnd(stream)
    stream.deinitialize(count: 1)
    stream.deallocate()
    input.deallocate()
  }

  /// Inflates into `buffer` until it is full or the last member ends; returns the bytes written.
  mutating func inflate(into buffer: UnsafeMutableRawBufferPointer, from descriptor: Int32)
    throws(DatasetError)
    -> Int
  {
    var done = 0
    while done < buffer.count && !isFinished {
      if stream.pointee.avail_in == 0 && !isInputExhausted { try refill(from: descriptor) }
      let room = min(buffer.count - done, Int(UInt32.max))
      stream.pointee.next_out = (buffer.baseAddress! + done).assumingMemoryBound(to: Bytef.self)
      stream.pointee.avail_out = uInt(room)
      let status = CZlib.inflate(stream, Z_NO_FLUSH)
      done += room - Int(stream.pointee.avail_out)
      switch status {
      case Z_OK:
        continue
      case Z_STREAM_END:
        // Another member may follow; trailing bytes that are not one fail as damaged data.
        if stream.pointee.avail_in == 0 && !isInputExhausted { try refill(from: descriptor) }
        if stream.pointee.avail_in == 0 {
          isFinished = true
        } else {
          inflateReset(stream)
        }
      case Z_BUF_ERROR where stream.pointee.avail_in == 0 && isInputExhausted:
        throw DatasetError(
          .truncated, path: path, field: .compression,
          "the gzip stream ends early, so the file was cut short: copy or download it again (`gzip -t FILE` checks a file)"
        )
      case Z_BUF_ERROR:
        continue
      case Z_MEM_ERROR:
        throw DatasetError(.ioFailure, path: path, field: .compression, "zlib ran out of memory")
      default:
        let reason = stream.pointee.msg.map { String(cString: $0) } ?? "status \(status)"
        throw DatasetError(
          .badCompression, path: path, field: .compression,
          "not valid gzip data (zlib: \(reason)): the file is damaged; copy or download it again")
      }
    }
    return done
  }

  private mutating func refill(from descriptor: Int32) throws(DatasetError) {
    let got = try FileInput.readRaw(descriptor, into: input, path: path)
    if got < input.count { isInputExhausted = true }
    stream.pointee.next_in = input.baseAddress!.assumingMemoryBound(to: Bytef.self)
    stream.pointee.avail_in = uInt(got)
  }
}
