/// Which way a metric is better, where one is (an error goes down, an accuracy up): tables for
/// papers mark the best mean of a column only for metrics with a direction.
public enum MetricDirection: Sendable, Equatable {
  case lowerIsBetter
  case higherIsBetter
}
