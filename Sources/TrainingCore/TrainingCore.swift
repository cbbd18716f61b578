/// Numerics, seeded randomness, networks, learners and tasks. Pure values and functions.
public enum TrainingCore {}
