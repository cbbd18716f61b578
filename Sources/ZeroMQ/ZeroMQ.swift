// The ZeroMQ wrapper: ZMQContext, Socket, Poller and ZMQError over libzmq (the CZeroMQ module).
import CZeroMQ

/// Facts about the libzmq this process is linked against.
public enum ZeroMQ {
  /// A libzmq version, `major.minor.patch`.
  public struct Version: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var major: Int
    public var minor: Int
    public var patch: Int

    public init(major: Int, minor: Int, patch: Int) {
      self.major = major
      self.minor = minor
      self.patch = patch
    }

    public var description: String { "\(major).\(minor).\(patch)" }

    public static func < (a: Version, b: Version) -> Bool {
      (a.major, a.minor, a.patch) < (b.major, b.minor, b.patch)
    }
  }

  /// The version of the linked libzmq (4.3.4 on Debian 12).
  public static var version: Version {
    var major: Int32 = 0
    var minor: Int32 = 0
    var patch: Int32 = 0
    zmq_version(&major, &minor, &patch)
    return Version(major: Int(major), minor: Int(minor), patch: Int(patch))
  }

  /// Whether libzmq was built with CURVE security (libsodium); needed for encrypted cross-host links.
  public static var hasCurve: Bool { zmq_has("curve") != 0 }
}
