import SweepModel
import SweepProtocol
import Journal
import ZeroMQ
import Aggregation
