"""The Mogan v1 REST API: the front door, behind Keystone and policy.

Reads go through the versioned objects; every change goes to the engine
over RPC with the request context this package builds from the verified
token (never from anything a caller sends).
"""
