"""The per-request era (2026-07-28): what every request must say, and the headers that mirror it.

Theory of operation
-------------------
In the per-request era there is no handshake: every request carries, in ``params._meta``, the
protocol version and the client's capabilities (and optionally its identity), and on HTTP it
repeats what intermediaries route on in headers: ``MCP-Protocol-Version``, ``Mcp-Method`` and,
for ``tools/call``, ``prompts/get`` and ``resources/read``, ``Mcp-Name``. A tool may also ask
for some of its arguments to be mirrored into ``Mcp-Param-{Name}`` headers (``x-mcp-header``
in its input schema). A header value that is not plain ASCII travels as a Base64 sentinel,
``=?base64?...?=``.

:func:`check_request` is the validation ladder, in the order the conformance suite pins:
``_meta`` present (-32602), headers equal to the body (-32020), version supported (-32022),
method not removed (-32601). Each failure has its HTTP status (:func:`http_status`); every
check runs before the server commits to a response, so a refusal can still be a 400 or 404.

Everything here is pure: values in, verdicts out.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from .jsonrpc import (
    INVALID_PARAMS,
    INVALID_REQUEST,
    METHOD_NOT_FOUND,
    PARSE_ERROR,
    Request,
)

__all__ = [
    "CLIENT_CAPABILITIES",
    "CLIENT_INFO",
    "HEADER_MISMATCH",
    "LOG_LEVEL",
    "MISSING_CLIENT_CAPABILITY",
    "PROTOCOL_VERSION",
    "REMOVED_METHODS",
    "SERVER_INFO",
    "SUBSCRIPTION_ID",
    "UNSUPPORTED_PROTOCOL_VERSION",
    "Failure",
    "MirroredParam",
    "check_mirrored_headers",
    "check_request",
    "decode_header_value",
    "encode_header_value",
    "header_text",
    "http_status",
    "mirrored_params",
    "name_of",
    "names_per_request",
]

#: ``_meta`` keys of the per-request era.
PROTOCOL_VERSION: Final = "io.modelcontextprotocol/protocolVersion"
CLIENT_CAPABILITIES: Final = "io.modelcontextprotocol/clientCapabilities"
CLIENT_INFO: Final = "io.modelcontextprotocol/clientInfo"
LOG_LEVEL: Final = "io.modelcontextprotocol/logLevel"
SERVER_INFO: Final = "io.modelcontextprotocol/serverInfo"
SUBSCRIPTION_ID: Final = "io.modelcontextprotocol/subscriptionId"

#: Error codes defined by 2026-07-28.
HEADER_MISMATCH: Final = -32020
MISSING_CLIENT_CAPABILITY: Final = -32021
UNSUPPORTED_PROTOCOL_VERSION: Final = -32022

#: Methods of the handshake era that the per-request era removed: 404 and -32601.
REMOVED_METHODS: Final = frozenset(
    {
        "initialize",
        "ping",
        "logging/setLevel",
        "resources/subscribe",
        "resources/unsubscribe",
    }
)
#: The methods whose ``Mcp-Name`` header mirrors a param, and which param.
_NAMED: Final = {"tools/call": "name", "prompts/get": "name", "resources/read": "uri"}
#: The HTTP status of a per-request error, by JSON-RPC code; other codes answer 200.
_STATUS: Final = {
    PARSE_ERROR: 400,
    INVALID_REQUEST: 400,
    INVALID_PARAMS: 400,
    HEADER_MISMATCH: 400,
    MISSING_CLIENT_CAPABILITY: 400,
    UNSUPPORTED_PROTOCOL_VERSION: 400,
    METHOD_NOT_FOUND: 404,
}
_SENTINEL = re.compile(r"=\?base64\?(.*)\?=", re.DOTALL)
_OWS = " \t"
_TCHAR = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_SAFE_INTEGER = 2**53 - 1


def http_status(code: int) -> int:
    """The HTTP status of a per-request error answered before the response started."""
    return _STATUS.get(code, 200)


@dataclass(frozen=True, slots=True)
class Failure:
    """A request refused by the ladder.

    Attributes:
        code: The JSON-RPC error code.
        message: The error message.
        data: The error's ``data`` (``None``: none).
    """

    code: int
    message: str
    data: Any = None

    @property
    def status(self) -> int:
        """The HTTP status to answer with."""
        return http_status(self.code)


def names_per_request(header_version: str | None, message: object, served: Sequence[str]) -> bool:
    """Whether a POST belongs to the per-request era.

    It does when its ``MCP-Protocol-Version`` names a served per-request version, or when its
    body's ``params._meta`` carries a protocol version (a per-request client that left the header
    out, or names a version nobody serves, is answered by the per-request rules).
    """
    if header_version is not None and header_version in served:
        return True
    if not isinstance(message, Request):
        return False
    meta = (message.params or {}).get("_meta")
    return isinstance(meta, dict) and PROTOCOL_VERSION in meta


def name_of(request: Request) -> str | None:
    """The value ``Mcp-Name`` mirrors for this request, or ``None`` when it has none."""
    key = _NAMED.get(request.method)
    if key is None:
        return None
    value = (request.params or {}).get(key)
    return value if isinstance(value, str) else None


def check_request(
    request: Request,
    header: Callable[[str], str | None],
    supported: Sequence[str],
) -> Failure | None:
    """Run the per-request validation ladder on one request; ``None`` when it passes.

    Args:
        request: The request.
        header: Looks up a request header by lowercase name (``None`` when absent).
        supported: The per-request versions served, oldest first.
    """
    meta = (request.params or {}).get("_meta")
    if not isinstance(meta, dict):
        return Failure(INVALID_PARAMS, "Invalid params: params._meta is required")
    version = meta.get(PROTOCOL_VERSION)
    if not isinstance(version, str):
        return Failure(INVALID_PARAMS, f"Invalid params: _meta needs {PROTOCOL_VERSION!r}")
    if not isinstance(meta.get(CLIENT_CAPABILITIES), dict):
        return Failure(INVALID_PARAMS, f"Invalid params: _meta needs {CLIENT_CAPABILITIES!r}")
    in_header = _stripped(header("mcp-protocol-version"))
    if in_header is None:
        return Failure(HEADER_MISMATCH, "Header mismatch: MCP-Protocol-Version is required")
    if in_header != version:
        return Failure(
            HEADER_MISMATCH,
            f"Header mismatch: MCP-Protocol-Version {in_header!r} differs from _meta {version!r}",
        )
    if version not in supported:
        return Failure(
            UNSUPPORTED_PROTOCOL_VERSION,
            "Unsupported protocol version",
            {"supported": list(supported), "requested": version},
        )
    method = _stripped(header("mcp-method"))
    if method != request.method:
        what = "is required" if method is None else f"{method!r} differs from {request.method!r}"
        return Failure(HEADER_MISMATCH, f"Header mismatch: Mcp-Method {what}")
    if request.method in _NAMED:
        failure = _check_name(request, header("mcp-name"))
        if failure is not None:
            return failure
    if request.method in REMOVED_METHODS:
        return Failure(
            METHOD_NOT_FOUND, f"Method not found: {request.method} (removed in {version})"
        )
    return None


def _check_name(request: Request, raw: str | None) -> Failure | None:
    expected = name_of(request)
    if raw is None:
        return Failure(HEADER_MISMATCH, "Header mismatch: Mcp-Name is required")
    value = decode_header_value(raw)
    if value is None:
        return Failure(HEADER_MISMATCH, "Header mismatch: Mcp-Name is not valid Base64")
    if value != expected:
        return Failure(HEADER_MISMATCH, "Header mismatch: Mcp-Name differs from the body")
    return None


def _stripped(value: str | None) -> str | None:
    return None if value is None else value.strip(_OWS)


# -- header values: plain, or the Base64 sentinel ----------------------------------------------


def encode_header_value(value: str) -> str:
    """A header value for ``value``: as it is when it is plain ASCII, else the Base64 sentinel.

    Plain means visible ASCII and inner spaces, without leading or trailing whitespace, and
    not itself looking like a sentinel.
    """
    plain = (
        value.isascii()
        and all(" " <= c <= "~" for c in value)
        and value == value.strip(_OWS)
        and _SENTINEL.fullmatch(value) is None
    )
    if plain:
        return value
    return "=?base64?" + base64.b64encode(value.encode("utf-8")).decode("ascii") + "?="


def decode_header_value(raw: str) -> str | None:
    """The value a header carries: the sentinel decoded (strictly), else the value as it is.

    Surrounding whitespace is removed first (HTTP parsers do). ``None`` for a sentinel that is
    not strict, padded Base64 of UTF-8 text: such a header must be rejected.
    """
    value = raw.strip(_OWS)
    match = _SENTINEL.fullmatch(value)
    if match is None:
        return value
    try:
        return base64.b64decode(match.group(1), validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        return None


def header_text(value: object) -> str | None:
    """How a tool argument is written in its ``Mcp-Param-*`` header; ``None``: no header.

    Strings as they are, integers in decimal (a float equal to an integer counts as one),
    booleans as ``true``/``false``; ``null`` and anything else have no header.
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float) and value.is_integer() and abs(value) <= _SAFE_INTEGER:
        return str(int(value))
    if isinstance(value, str):
        return value
    return None


# -- x-mcp-header: arguments mirrored into headers ----------------------------------------------


@dataclass(frozen=True, slots=True)
class MirroredParam:
    """A tool argument mirrored into a header.

    Attributes:
        header: The header's name, ``mcp-param-{name}`` in lowercase.
        path: The property names from the schema root to the argument.
    """

    header: str
    path: tuple[str, ...]

    def value_in(self, arguments: Mapping[str, Any]) -> object:
        """The argument's value in a call's ``arguments`` (``None`` when absent)."""
        value: object = arguments
        for key in self.path:
            if not isinstance(value, Mapping):
                return None
            value = value.get(key)
        return value


def mirrored_params(input_schema: Mapping[str, Any]) -> tuple[MirroredParam, ...]:
    """The arguments a tool's input schema mirrors into headers (``x-mcp-header``).

    Raises:
        ValueError: An annotation breaks the rules: not a header token, repeated (ignoring
            case), on a property that is not an integer, string or boolean, or not reachable
            from the root through ``properties`` alone.
    """
    found: list[MirroredParam] = []
    _walk(input_schema, (), found, reachable=True)
    names = [param.header for param in found]
    if len(set(names)) != len(names):
        raise ValueError("x-mcp-header names must be unique (ignoring case)")
    return tuple(found)


def _walk(
    schema: object, path: tuple[str, ...], found: list[MirroredParam], *, reachable: bool
) -> None:
    if isinstance(schema, list):
        for item in schema:
            _walk(item, path, found, reachable=False)
        return
    if not isinstance(schema, Mapping):
        return
    name = schema.get("x-mcp-header")
    if name is not None:
        if not (reachable and path):
            raise ValueError(f"x-mcp-header {name!r} is not on a property reachable by properties")
        if not isinstance(name, str) or not _TCHAR.fullmatch(name):
            raise ValueError(f"x-mcp-header {name!r} is not an HTTP header token")
        if schema.get("type") not in ("string", "integer", "boolean"):
            raise ValueError(f"x-mcp-header {name!r} must be on a string, integer or boolean")
        found.append(MirroredParam(f"mcp-param-{name.lower()}", path))
    for key, value in schema.items():
        if key == "properties" and isinstance(value, Mapping):
            for prop, sub in value.items():
                _walk(sub, (*path, prop), found, reachable=reachable)
        elif key != "x-mcp-header" and isinstance(value, Mapping | list):
            _walk(value, path, found, reachable=False)


def check_mirrored_headers(
    params: Sequence[MirroredParam],
    arguments: Mapping[str, Any],
    header: Callable[[str], str | None],
) -> str | None:
    """Compare a call's mirrored arguments with its headers; the mismatch, or ``None``.

    A header is expected exactly when the argument has a value; it must equal the value after
    decoding (integers compared as numbers).
    """
    for param in params:
        expected = header_text(param.value_in(arguments))
        raw = header(param.header)
        if expected is None:
            if raw is not None:
                return f"{param.header} is sent but the argument has no value"
            continue
        if raw is None:
            return f"{param.header} is missing"
        value = decode_header_value(raw)
        if value is None:
            return f"{param.header} is not valid Base64"
        if value != expected and not _same_integer(value, expected):
            return f"{param.header} differs from the argument"
    return None


def _same_integer(header: str, body: str) -> bool:
    """``42.0`` in a header matches ``42`` in the body (the spec compares integers as numbers)."""
    try:
        number = float(header)
        return number.is_integer() and int(number) == int(body)
    except (ValueError, OverflowError):
        return False
