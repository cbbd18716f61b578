import Foundation
import GRDB
import Testing

@testable import Journal

@Suite struct RawStatementTests {
  @Test func emptyTextAndBlob_bindAsEmptyValues_notNull() throws {
    let queue = try DatabaseQueue()
    try queue.write { db in
      try db.execute(sql: "CREATE TABLE t (s TEXT NOT NULL, b BLOB NOT NULL) STRICT")
      let insert = try RawStatement(db, sql: "INSERT INTO t (s, b) VALUES (?, ?)")
      insert.bind(1, "")
      insert.bind(2, Data())
      #expect(try insert.execute() == 1)
      insert.bind(1, "héllo")
      insert.bind(2, Data([1, 2, 3]))
      #expect(try insert.execute() == 1)
      let rows = try Row.fetchAll(db, sql: "SELECT s, length(b) AS n FROM t ORDER BY rowid")
      #expect(rows.map { $0["s"] as String } == ["", "héllo"])
      #expect(rows.map { $0["n"] as Int } == [0, 3])
    }
  }

  @Test func refusedBind_isThrown_insteadOfSteppingWithTheOlderValue() throws {
    let queue = try DatabaseQueue()
    try queue.write { db in
      try db.execute(sql: "CREATE TABLE t (x INTEGER NOT NULL)")
      let insert = try RawStatement(db, sql: "INSERT INTO t (x) VALUES (?)")
      insert.bind(1, Int64(7))
      #expect(try insert.execute() == 1)
      insert.bind(2, Int64(8))  // there is no parameter 2
      let error = #expect(throws: DatabaseError.self) { try insert.execute() }
      #expect(error?.resultCode == .SQLITE_RANGE)
      #expect(try Int.fetchAll(db, sql: "SELECT x FROM t") == [7])
      // The statement is usable again.
      insert.bind(1, Int64(9))
      #expect(try insert.execute() == 1)
    }
  }

  @Test func constraintViolation_isTheDatabaseErrorGRDBWouldThrow() throws {
    let queue = try DatabaseQueue()
    try queue.write { db in
      try db.execute(sql: "CREATE TABLE t (x INTEGER PRIMARY KEY)")
      let insert = try RawStatement(db, sql: "INSERT INTO t (x) VALUES (?)")
      insert.bind(1, Int64(1))
      try insert.execute()
      insert.bind(1, Int64(1))
      let error = #expect(throws: DatabaseError.self) { try insert.execute() }
      #expect(error?.resultCode == .SQLITE_CONSTRAINT)
      #expect(error?.extendedResultCode == .SQLITE_CONSTRAINT_PRIMARYKEY)
    }
  }
}
