import Foundation
import GRDB
import GRDBSQLite

/// A prepared statement of the coordinator's hot path (a lease, an outcome), bound and stepped
/// through SQLite's C API on the connection GRDB opened.
///
/// GRDB's `StatementArguments` box every value in an array of enums, and for a zero-length run that
/// costs about as much as SQLite's own work. The statements here bind plain values instead. They
/// run inside GRDB's write transactions, on the same connection, and a failure is thrown as the
/// `DatabaseError` GRDB would have thrown (extended result code, SQLite's message, the SQL).
///
/// Not thread-safe: a ``Journal`` uses its statements from one thread at a time, as it does GRDB's.
final class RawStatement {
  private let handle: OpaquePointer
  private let connection: OpaquePointer
  private let sql: String
  /// The first refused bind since the last execution: stepping would use an older value.
  private var bindFailure = SQLITE_OK

  init(_ db: Database, sql: String) throws {
    guard let connection = db.sqliteConnection else {
      throw DatabaseError(resultCode: .SQLITE_MISUSE, message: "the connection is closed", sql: sql)
    }
    var handle: OpaquePointer?
    let code = sqlite3_prepare_v3(connection, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &handle, nil)
    guard code == SQLITE_OK, let handle else {
      throw DatabaseError(
        resultCode: ResultCode(rawValue: sqlite3_extended_errcode(connection)),
        message: String(cString: sqlite3_errmsg(connection)), sql: sql)
    }
    self.handle = handle
    self.connection = connection
    self.sql = sql
  }

  deinit { sqlite3_finalize(handle) }

  /// SQLite copies a value bound with this destructor (`SQLITE_TRANSIENT`), so Swift's temporary
  /// C strings and buffers may go away right after the call.
  private static var transient: sqlite3_destructor_type {
    unsafeBitCast(OpaquePointer(bitPattern: -1), to: sqlite3_destructor_type.self)
  }

  func bind(_ index: Int32, _ value: Int64) { check(sqlite3_bind_int64(handle, index, value)) }

  func bind(_ index: Int32, _ value: Double) { check(sqlite3_bind_double(handle, index, value)) }

  /// Binds `value` as text, or NULL when it is nil.
  func bind(_ index: Int32, _ value: String?) {
    guard let value else {
      check(sqlite3_bind_null(handle, index))
      return
    }
    bind(index, value)
  }

  func bind(_ index: Int32, _ value: String) {
    if value.isEmpty {
      check(sqlite3_bind_text(handle, index, "", 0, nil))  // a nil pointer would bind NULL
      return
    }
    var value = value
    value.withUTF8 { text in
      text.withMemoryRebound(to: CChar.self) {
        check(sqlite3_bind_text(handle, index, $0.baseAddress, Int32($0.count), Self.transient))
      }
    }
  }

  /// Binds `value` as a blob; an empty one too (a nil pointer would bind NULL).
  func bind(_ index: Int32, _ value: Data) {
    if value.isEmpty {
      check(sqlite3_bind_zeroblob(handle, index, 0))
      return
    }
    value.withUnsafeBytes { bytes in
      check(sqlite3_bind_blob(handle, index, bytes.baseAddress, Int32(bytes.count), Self.transient))
    }
  }

  /// Steps the statement to its end and resets it; returns how many rows it changed.
  @discardableResult
  func execute() throws -> Int {
    if bindFailure != SQLITE_OK {
      let code = bindFailure
      bindFailure = SQLITE_OK
      throw DatabaseError(
        resultCode: ResultCode(rawValue: code), message: String(cString: sqlite3_errstr(code)), sql: sql)
    }
    let code = sqlite3_step(handle)
    guard code == SQLITE_DONE else {
      let extended = sqlite3_extended_errcode(connection)
      let message = String(cString: sqlite3_errmsg(connection))
      sqlite3_reset(handle)
      throw DatabaseError(resultCode: ResultCode(rawValue: extended), message: message, sql: sql)
    }
    sqlite3_reset(handle)
    return Int(sqlite3_changes(connection))
  }

  private func check(_ code: Int32) {
    if code != SQLITE_OK && bindFailure == SQLITE_OK { bindFailure = code }
  }
}
