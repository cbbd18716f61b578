import GRDB
import SweepModel
