"""Sphinx configuration of the trio_mcp_http documentation.

Build (warnings are errors; no network needed)::

    pip install -e '.[test]' -r docs/requirements.txt
    sphinx-build -E -W --keep-going -b html docs docs/_build/html
    python -m pytest docs/examples  # the examples the pages include

or ``tox -e docs``.

Intersphinx reads the inventories shipped in ``docs/_inventories/`` (see the README there), so
the build needs no network. Set ``TRIO_MCP_HTTP_DOCS_ONLINE=1`` to prefer the live inventories
of docs.python.org and trio.readthedocs.io; the shipped files remain the fallback.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "_ext"))

import trio_mcp_http  # noqa: E402

project = "trio_mcp_http"
author = "trio_mcp_http developers"
copyright = "trio_mcp_http developers"
release = trio_mcp_http.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.intersphinx",
    "sphinxcontrib_trio",
    "myst_parser",
    "trio_mcp_http_docs",
]

source_suffix = {".rst": "restructuredtext"}
root_doc = "index"
exclude_patterns = ["_build", "_inventories", "_ext", "examples", "README.md"]
templates_path: list[str] = []
default_role = "py:obj"
nitpicky = True

# -- autodoc and napoleon (Google style) ------------------------------------------------------
autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_typehints_format = "short"
autodoc_preserve_defaults = True
autodoc_class_signature = "separated"
autodoc_default_options = {"members": True}
napoleon_google_docstring = True
napoleon_numpy_docstring = False
napoleon_use_ivar = False
napoleon_use_rtype = False
napoleon_attr_annotations = True

# -- intersphinx: shipped inventories, so the build works offline -----------------------------
_INVENTORIES = HERE / "_inventories"


def _inventory(name: str) -> tuple[str | None, ...]:
    local = str(_INVENTORIES / name)
    if os.environ.get("TRIO_MCP_HTTP_DOCS_ONLINE"):
        return (None, local)  # the live inventory first, the shipped one if unreachable
    return (local,)


intersphinx_mapping = {
    "python": ("https://docs.python.org/3", _inventory("python.inv")),
    "trio": ("https://trio.readthedocs.io/en/stable", _inventory("trio.inv")),
}
intersphinx_timeout = 10

# -- MyST (only for including the Markdown benchmark results) ---------------------------------
myst_enable_extensions: list[str] = []
myst_heading_anchors = 0

# -- HTML -----------------------------------------------------------------------------------
html_theme = "furo"
html_title = f"trio_mcp_http {release}"
html_static_path: list[str] = []
