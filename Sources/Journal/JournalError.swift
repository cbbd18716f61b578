import Foundation
import GRDB

/// A journal operation that could not be done: what went wrong, in which file, and what to do.
///
/// The CLI maps ``code`` to an exit status and prints ``message``; users never see a stack trace.
public struct JournalError: Error, Sendable, CustomStringConvertible {
  /// What kind of failure this is.
  public enum Code: String, Sendable, Equatable {
    /// The journal file could not be created, opened or migrated.
    case cannotOpen
    /// The journal belongs to another sweep than the one being prepared.
    case sweepMismatch
    /// Two runs of one spec share a run key or an ordinal.
    case duplicateRun
    /// A run key that the journal does not know.
    case unknownRun
    /// An attempt id that the journal does not know, or that was already used.
    case unknownAttempt
    /// An attempt reported for a run it was not leased for.
    case attemptMismatch
    /// A stored outcome or parameter text that does not decode: the file is damaged.
    case corruptData
    /// An argument outside its domain (a retry limit below 1, say).
    case invalidArgument
    /// SQLite refused a statement (disk full, constraint violated, file locked, ...).
    case database
    /// Another coordinator holds the results folder (see ``ResultsFolderLock``).
    case folderInUse
  }

  public var code: Code
  /// One or two sentences: what happened and what to do about it.
  public var message: String
  /// The underlying error, when there is one (a GRDB `DatabaseError`, say).
  public var cause: (any Error)?

  public init(_ code: Code, _ message: String, cause: (any Error)? = nil) {
    self.code = code
    self.message = message
    self.cause = cause
  }

  /// The message and, when there is one, the cause in a few words on the same line (SQLite's
  /// reason, not its statement; a system error's reason, not Foundation's domain and code).
  public var description: String {
    guard let cause else { return message }
    return "\(message) (\(Self.summary(of: cause)))"
  }

  /// One line that says why `error` happened.
  static func summary(of error: any Error) -> String {
    if let error = error as? DatabaseError {
      return "SQLite: \(error.message ?? "\(error.resultCode)")"
    }
    if let error = error as? JournalError { return error.description }
    let nsError = error as NSError
    if nsError.domain == NSCocoaErrorDomain || nsError.domain == NSPOSIXErrorDomain {
      return ResultsFolderLock.reason(error)
    }
    let text = "\(error)".split(whereSeparator: \.isNewline).first.map(String.init) ?? ""
    return text.count <= 200 ? text : String(text.prefix(197)) + "..."
  }
}
