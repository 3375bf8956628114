"""The package layers, enforced by walking every import of every module (TYPE_CHECKING ones too).

    _core          sans-IO: imports nothing of ours but itself, and no I/O library
    _application   the contract between transport and application: core only
    _redis         a Redis client on trio streams (for what several processes share): core only
    _pacing        when a notification sender yields to the scheduler (trio only)
    _parking       one task parked until woken (trio only)
    _transport     trio + ASGI: core, the contract, pacing, parking, itself
    server         the MCP server layer: core, the contract, pacing, parking, itself
    client         the MCP client: core, itself

The top-level modules (``__init__``, ``_cli``, ``testing``, ...) tie the layers together.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import trio_mcp_http

ROOT = Path(trio_mcp_http.__file__).parent
#: What each layer may import from trio_mcp_http (first component after the package).
ALLOWED = {
    "_core": {"_core"},
    "_application": {"_core"},
    "_redis": {"_core"},
    "_parking": set(),
    "_transport": {
        "_core",
        "_application",
        "_pacing",
        "_parking",
        "_redis",
        "_transport",
        "_version",
    },
    "server": {"_core", "_application", "_pacing", "_parking", "_redis", "server", "_version"},
    "client": {"_core", "client", "_version"},
}
#: Libraries that mean I/O or an event loop: none of them in the core.
IO_LIBRARIES = {"trio", "hypercorn", "h11", "anyio", "asyncio", "socket", "ssl", "selectors"}


def module_name(path: Path) -> list[str]:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    return parts[:-1] if parts[-1] == "__init__" else parts


def imports_of(path: Path) -> list[str]:
    """Every module ``path`` imports, as absolute dotted names."""
    here = module_name(path)
    package = here if path.name == "__init__.py" else here[:-1]
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                target = ".".join([*base, *([node.module] if node.module else [])])
            else:
                target = node.module or ""
            found.append(target)
            found += [f"{target}.{alias.name}" for alias in node.names if node.level]
    return found


def layer_of(path: Path) -> str | None:
    first = path.relative_to(ROOT).parts[0].removesuffix(".py")
    return first if first in ALLOWED else None


MODULES = sorted(ROOT.rglob("*.py"))


def test_every_library_module_is_walked() -> None:
    layers = {layer_of(path) for path in MODULES}
    assert set(ALLOWED) <= layers


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_imports_respect_the_layers(path: Path) -> None:
    layer = layer_of(path)
    if layer is None:
        return  # top-level glue
    ours = set()
    for name in imports_of(path):
        parts = name.split(".")
        if parts[0] == "trio_mcp_http" and len(parts) > 1:
            ours.add(parts[1])
        elif layer == "_core":
            assert parts[0] not in IO_LIBRARIES, f"the core imports {name}"
    # ``from . import x`` inside a package names a submodule of that package, not a layer.
    ours -= {name for name in ours if (ROOT / layer / f"{name}.py").exists()}
    assert ours <= ALLOWED[layer], f"{layer} imports {sorted(ours - ALLOWED[layer])}"


def test_the_walker_sees_relative_imports() -> None:
    names = imports_of(ROOT / "_transport" / "handshake_era.py")
    assert "trio_mcp_http._core.jsonrpc" in names
    assert "trio_mcp_http._transport.session" in names
    assert "trio_mcp_http._application" in imports_of(ROOT / "server" / "_handler.py")
