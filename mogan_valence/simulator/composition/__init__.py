"""A DMTF Redfish CompositionService simulator (see ``server.py``)."""
