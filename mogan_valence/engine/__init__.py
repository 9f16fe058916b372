"""The engine: instances on Ironic, create and delete flows, RPC, extensions.

It never imports an extension: extensions are found through stevedore.
"""
