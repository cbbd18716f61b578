/// What, besides the binary, decides a run's last bits: the processor and the OpenBLAS kernel it
/// gets. The training core's own arithmetic is the same on every host of one architecture (no
/// libm, one instruction set per build), but OpenBLAS picks its kernel per CPU model, and kernels
/// sum a product's terms in different orders. So two hosts of one machine type compute the same run to
/// the same bits, and two of different types may not.
public enum MachineType {
  /// A readable name of the machine type: the architecture, the CPU model (its model name, and
  /// x86's family and model numbers or ARM's part number) and the OpenBLAS kernel, as in
  /// `x86_64, AMD EPYC (family 25, model 1), OpenBLAS Zen`.
  /// - Parameters:
  ///   - cpuinfo: the text of /proc/cpuinfo ("" when unreadable); its first processor is read.
  ///   - architecture: `uname -m`.
  ///   - openBLASCore: ``OpenBLASCore/detected``.
  public static func describe(cpuinfo: String, architecture: String, openBLASCore: String) -> String {
    var fields: [String: String] = [:]
    for line in cpuinfo.split(separator: "\n", omittingEmptySubsequences: false) {
      // The first processor's block ends at the first empty line.
      if line.allSatisfy(\.isWhitespace) && !fields.isEmpty { break }
      guard let colon = line.firstIndex(of: ":") else { continue }
      let name = line[..<colon].trimmingWhitespace
      if fields[name] == nil { fields[name] = line[line.index(after: colon)...].trimmingWhitespace }
    }
    var cpu = fields["model name"] ?? fields["Hardware"] ?? "unknown CPU"
    if let family = fields["cpu family"], let model = fields["model"] {
      cpu += " (family \(family), model \(model))"
    } else if let part = fields["CPU part"] {
      cpu += " (implementer \(fields["CPU implementer"] ?? "?"), part \(part))"
    }
    return "\(architecture), \(cpu), OpenBLAS \(openBLASCore)"
  }
}

extension Substring {
  fileprivate var trimmingWhitespace: String {
    String(drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed())
  }
}
