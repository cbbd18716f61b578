import SweepModel
