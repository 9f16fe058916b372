"""A Valence v1 API server with a simulated Rack Scale Design pod behind it.

Stands alone, as a real Valence would: nothing here imports the engine, the
objects or the database of mogan-valence.
"""
