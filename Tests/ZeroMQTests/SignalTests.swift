import Foundation
import Synchronization
import Testing

@testable import ZeroMQ

#if canImport(Glibc)
  import Glibc

  private final class Flag: Sendable {
    let isDone = Atomic<Bool>(false)
    let hasExited = Atomic<Bool>(false)
  }

  @Test func poll_interruptedBySignal_throwsInterrupted_andTheSocketKeepsWorking() throws {
    // A no-op handler without SA_RESTART, so the signal interrupts zmq_poll instead of killing us.
    var action = sigaction()
    action.__sigaction_handler.sa_handler = { _ in }
    action.sa_flags = 0
    sigemptyset(&action.sa_mask)
    var previous = sigaction()
    sigaction(SIGUSR2, &action, &previous)
    defer { sigaction(SIGUSR2, &previous, nil) }
    // Test bodies run on dispatch worker threads, which block signals: unblock ours here.
    var unblock = sigset_t()
    sigemptyset(&unblock)
    sigaddset(&unblock, SIGUSR2)
    var previousMask = sigset_t()
    pthread_sigmask(SIG_UNBLOCK, &unblock, &previousMask)
    defer { pthread_sigmask(SIG_SETMASK, &previousMask, nil) }

    let context = try ZMQContext()
    let pull = try Socket(.pull, context: context)
    let endpoint = try pull.bind("inproc://signal-test")
    let target = pthread_self()
    let flag = Flag()
    // Keeps signalling this thread until the poll has seen one: no timing assumptions.
    let sender = Thread {
      while !flag.isDone.load(ordering: .acquiring) {
        pthread_kill(target, SIGUSR2)
        sched_yield()
      }
      flag.hasExited.store(true, ordering: .releasing)
    }
    sender.start()
    var interrupted = false
    do {
      _ = try pull.poll(timeout: .seconds(30))
    } catch {
      interrupted = error.code == .interrupted
    }
    flag.isDone.store(true, ordering: .releasing)
    // Let the sender finish, then take any last signal here (on the syscall's return) while the
    // handler is still installed and the signal unblocked.
    while !flag.hasExited.load(ordering: .acquiring) { sched_yield() }
    sched_yield()
    #expect(interrupted)

    // The loop goes on: the socket still delivers.
    let push = try Socket(.push, context: context)
    try push.connect(endpoint)
    try push.send(frames: [Array("after".utf8)])
    #expect(try pull.poll(timeout: .seconds(10)).contains(.readable))
    #expect(try pull.receiveMultipart(wait: false) == [Array("after".utf8)])
  }
#endif
