"""The one package that talks to Ironic. Knows nothing of flows or composition."""
