"""mogan-valence: a Mogan-compatible engine that composes servers on demand."""
