import CSpawn
import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// A child process in a session (and process group) of its own, its standard streams on pipes:
/// `posix_spawn` with `POSIX_SPAWN_SETSID`, then one `poll` loop that writes its input, reads both
/// outputs, and reaps it.
///
/// Why not swift-subprocess, which does this job: its API is async, and experiments run
/// synchronously on worker threads (and in `run-one` and in tests, on Swift concurrency's own
/// threads). Waiting for an async call there blocks a thread of the cooperative pool while the
/// call needs one: with two cores and a few runs at once, every thread waited and nothing ran (seen
/// in this package's tests). This loop needs no other thread.
final class SpawnedProgram {
  /// How the program ended.
  enum Status: Sendable, Equatable {
    case exited(Int32)
    case signaled(Int32)
  }

  let pid: pid_t
  private var input: Int32
  private var output: Int32
  private var error: Int32
  private(set) var status = Status.exited(0)

  /// Starts `program` (a path, or a name looked up on PATH) with `arguments` (the first being its
  /// name) and `environment`, in `directory`.
  init(program: String, arguments: [String], environment: [String: String], directory: String) throws {
    var pipes: [Int32] = [0, 0, 0, 0, 0, 0]
    for index in 0..<3 {
      let made = pipes.withUnsafeMutableBufferPointer { metasweep_pipe_cloexec($0.baseAddress! + 2 * index) }
      guard made == 0 else {
        throw ExperimentError(message: "command: cannot make a pipe: \(String(cString: strerror(errno)))")
      }
    }
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_adddup2(&actions, pipes[0], 0)
    posix_spawn_file_actions_adddup2(&actions, pipes[3], 1)
    posix_spawn_file_actions_adddup2(&actions, pipes[5], 2)
    metasweep_spawn_addchdir(&actions, directory)
    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }
    // A new session: the program and all it starts form a group that a time-out kills together,
    // and a terminal's signals for this process do not reach it. Default signal handling, in case
    // this process ignores some (SIGPIPE).
    var defaults = sigset_t()
    sigemptyset(&defaults)
    for number in [SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGQUIT] { sigaddset(&defaults, number) }
    posix_spawnattr_setsigdefault(&attributes, &defaults)
    var none = sigset_t()
    sigemptyset(&none)
    posix_spawnattr_setsigmask(&attributes, &none)
    posix_spawnattr_setflags(
      &attributes, metasweep_spawn_setsid_flag() | Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))

    let argv = arguments.map { strdup($0) } + [nil]
    let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
    defer {
      for pointer in argv { free(pointer) }
      for pointer in envp { free(pointer) }
    }
    var pid = pid_t()
    let spawned =
      program.contains("/")
      ? posix_spawn(&pid, program, &actions, &attributes, argv, envp)
      : posix_spawnp(&pid, program, &actions, &attributes, argv, envp)
    // The child's ends: closed here whether or not it started.
    for index in [0, 3, 5] { close(pipes[index]) }
    guard spawned == 0 else {
      for index in [1, 2, 4] { close(pipes[index]) }
      throw ExperimentError(
        message: "command: cannot start \(program): \(String(cString: strerror(spawned)))")
    }
    self.pid = pid
    (input, output, error) = (pipes[1], pipes[2], pipes[4])
    for descriptor in [input, output, error] {
      _ = fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) | O_NONBLOCK)
    }
  }

  deinit {
    for descriptor in [input, output, error] where descriptor >= 0 { close(descriptor) }
  }

  /// Sends `signal` to the program's whole process group (its session).
  func signalGroup(_ signal: Int32) { kill(-pid, signal) }

  /// Writes `input` and reads both outputs until the program has exited and both pipes are closed,
  /// calling `tick` about every 50 ms (to enforce a deadline). When the program itself exits, what
  /// it left running in its group is killed, so no grandchild holds the pipes open.
  func communicate(
    input bytes: [UInt8], stdout: (UnsafeRawBufferPointer) -> Void, stderr: (UnsafeRawBufferPointer) -> Void,
    tick: () -> Void
  ) {
    var written = 0
    if bytes.isEmpty { closeInput() }
    var buffer = [UInt8](repeating: 0, count: 1 << 16)
    var hasExited = false
    var idleRounds: UInt32 = 0
    while output >= 0 || error >= 0 || !hasExited {
      var descriptors: [pollfd] = []
      if input >= 0 { descriptors.append(pollfd(fd: input, events: Int16(POLLOUT), revents: 0)) }
      if output >= 0 { descriptors.append(pollfd(fd: output, events: Int16(POLLIN), revents: 0)) }
      if error >= 0 { descriptors.append(pollfd(fd: error, events: Int16(POLLIN), revents: 0)) }
      if !descriptors.isEmpty {
        _ = poll(&descriptors, nfds_t(descriptors.count), 50)
      } else {
        // Both outputs closed, the program not reaped yet: it is exiting (within microseconds,
        // usually) or went on without them. Look again at once, then after 0.1 ms doubling to 51 ms.
        if idleRounds > 0 { usleep(100 << min(idleRounds - 1, 9)) }
        idleRounds += 1
      }
      for entry in descriptors where entry.revents != 0 {
        if entry.fd == input {
          let count = bytes[written...].withUnsafeBytes { write(input, $0.baseAddress, $0.count) }
          if count > 0 { written += count }
          if count < 0 && errno != EAGAIN || written == bytes.count { closeInput() }
        } else {
          let count = buffer.withUnsafeMutableBytes { read(entry.fd, $0.baseAddress, $0.count) }
          if count > 0 {
            buffer.withUnsafeBytes {
              (entry.fd == output ? stdout : stderr)(UnsafeRawBufferPointer(rebasing: $0[..<count]))
            }
          } else if count == 0 || errno != EAGAIN && errno != EINTR {
            close(entry.fd)
            if entry.fd == output { output = -1 } else { error = -1 }
          }
        }
      }
      if !hasExited {
        var raw: Int32 = 0
        if waitpid(pid, &raw, WNOHANG) == pid {
          hasExited = true
          status = raw & 0x7f == 0 ? .exited((raw >> 8) & 0xff) : .signaled(raw & 0x7f)
          closeInput()
          signalGroup(SIGKILL)
        }
      }
      tick()
    }
  }

  private func closeInput() {
    if input >= 0 { close(input) }
    input = -1
  }
}

/// Bytes in, lines out: each line without its newline, cut to `limit` bytes.
struct LineSplitter {
  let limit: Int
  private var pending: [UInt8] = []
  private var isCut = false

  init(limit: Int) { self.limit = limit }

  mutating func feed(_ bytes: UnsafeRawBufferPointer, _ line: (Substring) -> Void) {
    var start = bytes.startIndex
    while let newline = bytes[start...].firstIndex(of: UInt8(ascii: "\n")) {
      take(UnsafeRawBufferPointer(rebasing: bytes[start..<newline]))
      emit(line)
      start = newline + 1
    }
    take(UnsafeRawBufferPointer(rebasing: bytes[start...]))
  }

  /// The last line, when the stream did not end with a newline.
  mutating func finish(_ line: (Substring) -> Void) {
    if !pending.isEmpty || isCut { emit(line) }
  }

  private mutating func take(_ bytes: UnsafeRawBufferPointer) {
    let room = max(0, limit - pending.count)
    pending.append(contentsOf: bytes.prefix(room))
    if bytes.count > room { isCut = true }
  }

  private mutating func emit(_ line: (Substring) -> Void) {
    line(Substring(decoding: pending, as: UTF8.self))
    pending.removeAll(keepingCapacity: true)
    isCut = false
  }
}
