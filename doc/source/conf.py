"""Sphinx configuration of the mogan-valence documentation.

Built with warnings as errors (``make docs``). The configuration and policy
references are generated from the code: ``oslo_config.sphinxext`` and
``oslo_policy.sphinxext`` read the options and rules through their entry
points, and the sample files are generated into ``_static`` at build time.
"""

import os
import sys
import warnings

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
# The package itself, for a build from a tree that is not installed.
sys.path.insert(0, ROOT)

project = "mogan-valence"
copyright = "mogan-valence developers"
author = "mogan-valence developers"

extensions = [
    "oslo_config.sphinxext",
    "oslo_config.sphinxconfiggen",
    "oslo_policy.sphinxext",
    "oslo_policy.sphinxpolicygen",
]

# Generated at build time from the generator configurations in etc/.
config_generator_config_file = [
    (
        os.path.join(ROOT, "etc/mogan-valence/config-generator.conf"),
        "_static/mogan-valence",
    ),
]
policy_generator_config_file = [
    (
        os.path.join(ROOT, "etc/mogan-valence/policy-generator.conf"),
        "_static/mogan-valence",
    ),
]

master_doc = "index"
exclude_patterns = ["_build"]
pygments_style = "sphinx"
nitpicky = False

html_theme = "alabaster"
html_static_path = ["_static"]
html_title = "mogan-valence"
html_theme_options = {
    "description": "A Mogan-compatible bare-metal compute service that "
    "composes servers on demand through Valence",
    "fixed_sidebar": True,
}
html_sidebars = {"**": ["about.html", "navigation.html", "searchbox.html"]}

# oslo.service imports eventlet when the options of oslo.messaging are
# listed; its deprecation notice says nothing about this project.
warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")
