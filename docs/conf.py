"""Sphinx configuration of the bayesmix documentation.

Build with ``python -m sphinx -W -b html docs docs/_build/html``. Notebooks are rendered
from their committed outputs (``docs/notebooks`` links to ``../notebooks``), not executed.
"""

import bayesmix

project = "bayesmix"
author = "The bayesmix developers"
copyright = "the bayesmix developers"
release = bayesmix.__version__
version = release

extensions = [
    "myst_nb",
    "numpydoc",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
]

exclude_patterns = ["_build", "Thumbs.db", ".DS_Store", "**.ipynb_checkpoints"]

# Notebooks are committed executed; render their outputs as they are.
nb_execution_mode = "off"
myst_enable_extensions = ["dollarmath", "colon_fence"]

autosummary_generate = True
autodoc_typehints = "none"  # numpydoc renders the types written in the docstrings
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False

html_theme = "pydata_sphinx_theme"
html_title = f"bayesmix {release}"
html_theme_options = {"navigation_with_keys": False}
