import SweepModel
import SweepProtocol
import Experiments
import ZeroMQ
