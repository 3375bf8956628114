"""Local Sphinx extension of the trio_mcp_http documentation.

What it does, and why:

* **Every public name is documented** (``env-check-consistency``): each name in the
  ``__all__`` of the public modules must have an entry in the Python domain, or the build
  warns (an error under ``-W``). A public name added without documentation fails the build.
* **Docstrings of re-exported aliases and constants** (``autodoc-process-docstring``): a
  ``TypeAlias`` or constant documented as ``trio_mcp_http.server.LogLevel`` is defined, with its
  docstring, in a private submodule; autodoc only reads attribute docstrings of the module it
  is given (and otherwise shows the docstring of the value's type, e.g. ``types.UnionType``),
  so this reads them from the defining submodule.
* **Noise** (``autodoc-skip-member``, ``autodoc-process-bases``): pydantic's ``model_config``
  and friends, and constructors inherited from ``Protocol`` or pydantic, are left out;
  private base classes (``_Model``) are shown as the public class they derive from.
* **Third-party names without an inventory** (``missing-reference``): pydantic and hypercorn
  publish no ``objects.inv`` we can ship; their few names link to their documentation pages.
* **References to private objects** (``warn-missing-reference``): private objects are not
  documented, so a signature or docstring that names one (``trio_mcp_http._transport.Session``,
  a ``TypeVar``, ``ReplayStatus``) renders it as plain code instead of failing the build; the
  build log lists them. A reference that names no object at all, or a *public* object that is
  not documented, still warns.
* **Optional includes** (``optional-include`` directive): includes a file (through a parser,
  e.g. MyST for Markdown) when it exists, else renders the directive's content instead; the
  benchmarks page uses it for ``benchmarks/results/latest.md``.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from docutils import nodes
from docutils.parsers.rst import directives
from docutils.parsers.rst.directives.misc import Include
from sphinx.pycode import ModuleAnalyzer
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

if TYPE_CHECKING:
    from sphinx import addnodes
    from sphinx.application import Sphinx
    from sphinx.environment import BuildEnvironment

log = logging.getLogger(__name__)

#: The public modules: everything in their ``__all__`` must be documented.
PUBLIC_MODULES = (
    "trio_mcp_http",
    "trio_mcp_http.server",
    "trio_mcp_http.client",
    "trio_mcp_http.testing",
)

#: Third-party objects that have no intersphinx inventory here, and where they are documented.
EXTERNAL = {
    "pydantic.BaseModel": "https://docs.pydantic.dev/latest/api/base_model/#pydantic.BaseModel",
    "pydantic.main.BaseModel": (
        "https://docs.pydantic.dev/latest/api/base_model/#pydantic.BaseModel"
    ),
    "pydantic.types.Strict": "https://docs.pydantic.dev/latest/api/types/#pydantic.types.Strict",
    "HypercornConfig": "https://hypercorn.readthedocs.io/en/latest/how_to_guides/configuring.html",
    "hypercorn.config.Config": (
        "https://hypercorn.readthedocs.io/en/latest/how_to_guides/configuring.html"
    ),
    "re.Pattern": "https://docs.python.org/3/library/re.html#re.Pattern",
}

_PYDANTIC_INTERNALS = frozenset(
    {"model_config", "model_fields", "model_computed_fields", "model_extra", "model_fields_set"}
)


def _is_private(dotted: str) -> bool:
    """Whether a dotted name goes through a private component (``_x``, not ``__x__``)."""
    return any(
        part.startswith("_") and not (part.startswith("__") and part.endswith("__"))
        for part in dotted.split(".")
    )


# -- docstrings of re-exported module attributes ---------------------------------------------

_attr_docs: dict[str, dict[str, list[str]]] = {}


def _attribute_docs(package: str) -> dict[str, list[str]]:
    """``name -> docstring lines`` of the module-level attributes of a package's submodules.

    A name documented in several submodules is left out (ambiguous).
    """
    if package in _attr_docs:
        return _attr_docs[package]
    found: dict[str, list[str]] = {}
    ambiguous: set[str] = set()
    module = importlib.import_module(package)
    names = [package]
    if hasattr(module, "__path__"):
        names += [
            info.name
            for info in pkgutil.iter_modules(module.__path__, package + ".")
            if not info.ispkg and info.name.rpartition(".")[2] != "__main__"
        ]
    for name in names:
        try:
            analyzer = ModuleAnalyzer.for_module(name)
            analyzer.analyze()
        except Exception:  # an unanalysable module documents nothing
            continue
        for (scope, attr), lines in analyzer.attr_docs.items():
            if scope:  # class attributes are autodoc's business
                continue
            if attr in found and found[attr] != lines:
                ambiguous.add(attr)
            found[attr] = list(lines)
    for attr in ambiguous:
        del found[attr]
    _attr_docs[package] = found
    return found


def _fill_alias_docstring(  # noqa: PLR0917 - Sphinx's event signature
    app: Sphinx, what: str, name: str, obj: Any, options: Any, lines: list[str]
) -> None:
    del app, obj, options
    if what != "data":
        return
    package, _, attr = name.rpartition(".")
    if package not in PUBLIC_MODULES:
        return
    doc = _attribute_docs(package).get(attr)
    if doc:
        lines[:] = [*doc, ""] if doc[-1].strip() else doc


# -- pydantic -----------------------------------------------------------------------------


def _skip_members(  # noqa: PLR0917 - Sphinx's event signature
    app: Sphinx, what: str, name: str, obj: Any, skip: bool, options: Any
) -> bool | None:
    """Skip pydantic internals, and constructors that are not this package's own code.

    A ``Protocol``'s ``__init__(*args, **kwargs)`` or pydantic's ``__init__(**data)`` tells
    the reader nothing; dataclass and hand-written constructors stay.
    """
    del app, skip, options
    if what != "class":
        return None
    if name in _PYDANTIC_INTERNALS:
        return True
    if name == "__init__" and not str(getattr(obj, "__module__", "")).startswith("trio_mcp_http"):
        return True
    return None


def _public_bases(app: Sphinx, name: str, obj: Any, options: Any, bases: list[type]) -> None:
    """Show a private base class as its nearest public ancestor."""
    del app, name, obj, options
    for index, base in enumerate(bases):
        if not inspect.isclass(base) or not _is_private(f"{base.__module__}.{base.__qualname__}"):
            continue
        for ancestor in base.__mro__[1:]:
            if not _is_private(f"{ancestor.__module__}.{ancestor.__qualname__}"):
                bases[index] = ancestor
                break


# -- references ---------------------------------------------------------------------------


def _external_reference(
    app: Sphinx, env: BuildEnvironment, node: addnodes.pending_xref, contnode: nodes.Element
) -> nodes.reference | None:
    del app, env
    if node.get("refdomain") != "py":
        return None
    target = node.get("reftarget", "")
    uri = EXTERNAL.get(target)
    if uri is None:
        return None
    reference = nodes.reference("", "", internal=False, refuri=uri, reftitle=target)
    reference.append(contnode)
    return reference


def _lookup(dotted: str) -> Any:
    """Import the longest importable module prefix of ``dotted``, then walk attributes."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj: Any = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        try:
            for attr in parts[cut:]:
                obj = getattr(obj, attr)
        except AttributeError:
            return None
        return obj
    return None


def _defining_module(obj: Any) -> str:
    if inspect.ismodule(obj):
        return obj.__name__
    module = getattr(obj, "__module__", None)
    if not isinstance(module, str):  # e.g. an enum member: its class tells
        module = getattr(type(obj), "__module__", "")
    return module or ""


def _is_exported(obj: Any) -> bool:
    for module_name in PUBLIC_MODULES:
        module = importlib.import_module(module_name)
        if any(getattr(module, name, None) is obj for name in getattr(module, "__all__", ())):
            return True
    return False


def _private_object(node: addnodes.pending_xref) -> Any:
    """The object a failed reference names, if it is private to this package, else ``None``.

    The reference is resolved as Python would from where it was written: the module the
    documented object is defined in (not the public module it is documented under).
    """
    target = node.get("reftarget", "").lstrip("~.")
    if not target:
        return None
    contexts: list[str] = []
    module_name = node.get("py:module") or ""
    class_name = node.get("py:class") or ""
    if module_name:
        if class_name:
            owner = _lookup(f"{module_name}.{class_name}")
            if owner is not None:
                contexts.append(_defining_module(owner))
        contexts.append(module_name)
    contexts.append("")
    for context in contexts:
        obj = _lookup(f"{context}.{target}" if context else target)
        if obj is None:
            continue
        defined_in = _defining_module(obj)
        if (
            defined_in.startswith("trio_mcp_http")
            and _is_private(defined_in)
            and not _is_exported(obj)
        ):
            return obj
        return None
    return None


_quieted: set[str] = set()


def _quiet_private_references(app: Sphinx, domain: Any, node: addnodes.pending_xref) -> bool:
    """Render a reference to a private object as plain code instead of warning."""
    del app, domain
    if node.get("refdomain") != "py" or _private_object(node) is None:
        return False
    _quieted.add(node.get("reftarget", ""))
    return True


def _report_quieted(app: Sphinx, exception: Exception | None) -> None:
    del app
    if exception is None and _quieted:
        log.info("references to private objects rendered as text: %s", ", ".join(sorted(_quieted)))


# -- completeness -------------------------------------------------------------------------


def _check_public_names(app: Sphinx, env: BuildEnvironment) -> None:
    del app
    documented = {entry[0] for entry in env.get_domain("py").get_objects()}
    for module_name in PUBLIC_MODULES:
        module = importlib.import_module(module_name)
        for name in getattr(module, "__all__", ()):
            if f"{module_name}.{name}" not in documented:
                log.warning(
                    "public name %s.%s is not documented (add it to docs/api/)",
                    module_name,
                    name,
                    type="trio_mcp_http",
                    subtype="undocumented",
                )


# -- optional include ---------------------------------------------------------------------


class OptionalInclude(SphinxDirective):
    """Include a file if it exists (options as for ``include``), else render the content."""

    required_arguments = 1
    final_argument_whitespace = True
    has_content = True
    option_spec: ClassVar[dict[str, Any]] = {"parser": directives.parser_name}

    def run(self) -> list[nodes.Node]:
        """Include the file, or parse the directive's content when the file is missing."""
        relative, absolute = self.env.relfn2path(self.arguments[0])
        if Path(absolute).is_file():
            self.env.note_dependency(relative)
            include = Include(
                self.name,
                [absolute],
                self.options,
                self.content,
                self.lineno,
                self.content_offset,
                self.block_text,
                self.state,
                self.state_machine,
            )
            return list(include.run())
        return self.parse_content_to_nodes()


def setup(app: Sphinx) -> dict[str, Any]:
    """Register the handlers and the directive."""
    # Import the public modules now, as plain Python would: imported for the first time late
    # in a build, pydantic models with ``extra="allow"`` fail to build their schema.
    for module_name in PUBLIC_MODULES:
        importlib.import_module(module_name)
    app.connect("autodoc-process-docstring", _fill_alias_docstring)
    app.connect("autodoc-skip-member", _skip_members)
    app.connect("autodoc-process-bases", _public_bases)
    app.connect("missing-reference", _external_reference)
    app.connect("warn-missing-reference", _quiet_private_references)
    app.connect("build-finished", _report_quieted)
    app.connect("env-check-consistency", _check_public_names)
    app.add_directive("optional-include", OptionalInclude)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
