"""The operator CLI, ``mogan-valence``."""
