"""Versioned objects: the only way code above ``db/`` reads or writes rows."""


def register_all() -> None:
    # NOTE: importing the modules registers the classes with the registry;
    # done in a function so that importing this package stays cheap.
    __import__("mogan_valence.objects.flavor")
    __import__("mogan_valence.objects.instance")
    __import__("mogan_valence.objects.instance_fault")
    __import__("mogan_valence.objects.notification")
    __import__("mogan_valence.objects.quota")
