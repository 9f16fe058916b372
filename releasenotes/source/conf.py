"""Sphinx configuration of the release notes (reno's Sphinx extension).

reno reads the notes from git history: build from a git checkout
(``make releasenotes`` or ``tox -e releasenotes``).
"""

project = "mogan-valence release notes"
copyright = "mogan-valence developers"
author = "mogan-valence developers"

extensions = ["reno.sphinxext"]

master_doc = "index"
exclude_patterns = ["_build"]
html_theme = "alabaster"
html_static_path = ["_static"]
