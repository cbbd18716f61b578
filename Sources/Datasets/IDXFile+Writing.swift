import CZlib

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

extension IDXFile {
  /// Writes `array` to `path` as an IDX file, plain or as one gzip member.
  ///
  /// The bytes go to a temporary file in the same folder, renamed to `path` once complete, so a
  /// reader never sees half a file under the final name. The caller chooses the name: gzipped
  /// dataset files conventionally end in `.gz`.
  public static func write(_ array: IDXArray, to path: String, compression: IDXCompression = .none)
    throws(DatasetError)
  {
    var header: [UInt8] = []
    for value in [Int(array.magic)] + array.dimensions {
      header += [
        UInt8(value >> 24 & 0xFF), UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF),
      ]
    }
    try writeFileAtomically(to: path) { output throws(DatasetError) in
      switch compression {
      case .none:
        try output.write(header)
        try output.write(array.values)
      case .gzip:
        let deflater = try GzipDeflater(path: path)
        defer { deflater.end() }
        try deflater.deflate(header, finishing: false, into: output)
        try deflater.deflate(array.values, finishing: true, into: output)
      }
    }
  }
}

/// Writes `bytes` to `path` through a temporary file in the same folder, renamed once complete, so
/// a reader never sees half a file under the final name.
func writeFileAtomically(_ bytes: [UInt8], to path: String) throws(DatasetError) {
  try writeFileAtomically(to: path) { output throws(DatasetError) in try output.write(bytes) }
}

/// Writes `path` through a temporary file in the same folder that `body` fills, renamed to `path`
/// once `body` returns and the file is closed; on any failure the temporary file is removed.
private func writeFileAtomically(to path: String, _ body: (FileOutput) throws(DatasetError) -> Void)
  throws(DatasetError)
{
  let temporary = "\(path).partial-\(getpid())"
  let output = try FileOutput(path: temporary)
  do throws(DatasetError) {
    try body(output)
    try output.close()
  } catch {
    output.abandon()
    unlink(temporary)
    throw error
  }
  guard rename(temporary, path) == 0 else {
    let cause = SystemCallError("rename")
    unlink(temporary)
    throw DatasetError(
      .ioFailure, path: path, field: .file, "cannot put the written file in place", cause: cause)
  }
}

/// A file opened for writing (created or emptied); ``close()`` reports a failed final write.
private final class FileOutput {
  let path: String
  private var descriptor: Int32

  init(path: String) throws(DatasetError) {
    self.path = path
    descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    guard descriptor >= 0 else {
      throw DatasetError(
        .ioFailure, path: path, field: .file, "cannot create it: does the folder exist and is it writable?",
        cause: SystemCallError("open"))
    }
  }

  deinit { abandon() }

  /// Writes all of `bytes`, retrying short writes and interruptions.
  func write(_ bytes: UnsafeRawBufferPointer) throws(DatasetError) {
    var done = 0
    while done < bytes.count {
      let wrote = systemWrite(descriptor, bytes.baseAddress! + done, min(bytes.count - done, 1 << 30))
      if wrote < 0 {
        if errno == EINTR { continue }
        throw DatasetError(
          .ioFailure, path: path, field: .file, "cannot write it: is the disk full?",
          cause: SystemCallError("write"))
      }
      done += wrote
    }
  }

  func write(_ bytes: [UInt8]) throws(DatasetError) {
    var failure: DatasetError?
    bytes.withUnsafeBytes { buffer in
      do throws(DatasetError) { try write(buffer) } catch { failure = error }
    }
    if let failure { throw failure }
  }

  /// Closes the file, reporting an error the system kept for the end.
  func close() throws(DatasetError) {
    let status = closeDescriptor(descriptor)
    descriptor = -1
    guard status == 0 else {
      throw DatasetError(
        .ioFailure, path: path, field: .file, "cannot finish writing it: is the disk full?",
        cause: SystemCallError("close"))
    }
  }

  /// Closes the file, if still open, without reporting.
  func abandon() {
    if descriptor >= 0 { _ = closeDescriptor(descriptor) }
    descriptor = -1
  }
}

/// `write(2)` and `close(2)`, named apart from ``FileOutput``'s methods.
private func systemWrite(_ descriptor: Int32, _ bytes: UnsafeRawPointer, _ count: Int) -> Int {
  write(descriptor, bytes, count)
}

private func closeDescriptor(_ descriptor: Int32) -> Int32 { close(descriptor) }

/// zlib's deflate state for writing one gzip member.
private struct GzipDeflater {
  static let outputChunk = 1 << 18

  let path: String
  /// Heap-allocated because zlib keeps a pointer to it: it must never move.
  private let stream: UnsafeMutablePointer<z_stream>
  private let output: UnsafeMutableRawBufferPointer

  init(path: String) throws(DatasetError) {
    self.path = path
    stream = .allocate(capacity: 1)
    stream.initialize(to: z_stream())
    output = .allocate(byteCount: Self.outputChunk, alignment: 16)
    let status = metasweep_deflate_init_gzip(stream, Z_DEFAULT_COMPRESSION)
    guard status == Z_OK else {
      stream.deallocate()
      output.deallocate()
      throw DatasetError(
        .badCompression, path: path, field: .compression, "zlib could not start deflating (status \(status))")
    }
  }

  /// Frees zlib's state and the buffer.
  func end() {
    deflateEnd(stream)
    stream.deinitialize(count: 1)
    stream.deallocate()
    output.deallocate()
  }

  /// Compresses `bytes` into `file`; `finishing` ends the member (writing its CRC-32 and length).
  func deflate(_ bytes: [UInt8], finishing: Bool, into file: FileOutput) throws(DatasetError) {
    var failure: DatasetError?
    bytes.withUnsafeBytes { input in
      do throws(DatasetError) { try deflate(input, finishing: finishing, into: file) } catch {
        failure = error
      }
    }
    if let failure { throw failure }
  }

  private func deflate(_ input: UnsafeRawBufferPointer, finishing: Bool, into file: FileOutput)
    throws(DatasetError)
  {
    var offset = 0
    while true {
      let piece = min(input.count - offset, Int(UInt32.max))
      let isLastPiece = offset + piece == input.count
      stream.pointee.next_in = UnsafeMutablePointer(
        mutating: input.baseAddress.map { ($0 + offset).assumingMemoryBound(to: Bytef.self) })
      stream.pointee.avail_in = uInt(piece)
      let flush = finishing && isLastPiece ? Z_FINISH : Z_NO_FLUSH
      var status = Z_OK
      // Drain until zlib has taken the whole piece (and, when finishing, written the trailer).
      repeat {
        stream.pointee.next_out = output.baseAddress!.assumingMemoryBound(to: Bytef.self)
        stream.pointee.avail_out = uInt(output.count)
        status = CZlib.deflate(stream, flush)
        guard status == Z_OK || status == Z_STREAM_END || status == Z_BUF_ERROR else {
          throw DatasetError(
            .badCompression, path: path, field: .compression, "zlib failed to deflate (status \(status))")
        }
        try file.write(
          UnsafeRawBufferPointer(rebasing: output[..<(output.count - Int(stream.pointee.avail_out))]))
      } while stream.pointee.avail_out == 0 || (flush == Z_FINISH && status != Z_STREAM_END)
      offset += piece
      if isLastPiece { return }
    }
  }
}
