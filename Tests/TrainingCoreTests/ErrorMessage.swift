/// The description of the error `body` throws, or "" when it throws none: what tests of refusals
/// match their expected words against.
func message(_ body: () throws -> Any) -> String {
  do {
    _ = try body()
    return ""
  } catch {
    return "\(error)"
  }
}
