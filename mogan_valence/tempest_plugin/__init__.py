"""Tempest-style checks of a mogan-valence deployment.

The scenarios under ``tests/scenario`` run against any deployment described
by the ``[mogan_valence]`` options: from tempest (this package is registered as
a tempest plugin), or from a plain config file named by
``MOGAN_VALENCE_DEPLOYMENT_CONF`` (the project's functional suite writes one
for the stack it starts).
"""
