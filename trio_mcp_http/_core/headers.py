"""Sans-IO rules for the HTTP headers of the MCP Streamable HTTP transport.

Pure functions over header values (``str`` or ``None`` when the header is missing): ``Accept``,
``Content-Type``, ``Mcp-Session-Id``, ``MCP-Protocol-Version``, ``Origin`` and ``Host``. None of
them raises, whatever the input; a malformed value is reported as such (``None``, ``False`` or a
rejected check) so that the caller can pick the HTTP status.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass

from .versions import ASSUMED_WITHOUT_HEADER, Revision, revision

MAX_SESSION_ID_LENGTH = 256
LOOPBACK_HOSTS: frozenset[str] = frozenset({"localhost", "127.0.0.1", "::1"})
"""Normalised host names that always mean the local machine."""

_OWS = " \t"
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_QUOTED = re.compile(r'"((?:[\t \x21\x23-\x5b\x5d-\x7e\x80-\xff]|\\[\t \x21-\x7e\x80-\xff])*)"')
_QVALUE = re.compile(r"0(?:\.[0-9]{0,3})?|1(?:\.0{0,3})?")
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+\-.]*")
_REG_NAME = re.compile(r"[A-Za-z0-9_\-]+(?:\.[A-Za-z0-9_\-]+)*\.?")
_PORT = re.compile(r"[0-9]{1,5}")
_SESSION_ID = re.compile(r"[\x21-\x7e]+")
_JSON, _SSE = ("application", "json"), ("text", "event-stream")
_ANY_PORT = -1  # a pattern's ":*"


@dataclass(frozen=True, slots=True)
class Acceptable:
    """Which response media types a request's ``Accept`` header allows.

    Attributes:
        json: The client accepts ``application/json``.
        sse: The client accepts ``text/event-stream``.
    """

    json: bool
    sse: bool


@dataclass(frozen=True, slots=True)
class ProtocolVersionCheck:
    """Outcome of reading an ``MCP-Protocol-Version`` header.

    Attributes:
        requested: The header's value without surrounding whitespace; ``None`` when absent.
        revision: The known revision it names (or the one assumed when the header is absent),
            ``None`` for an empty, malformed or unknown value.
    """

    requested: str | None
    revision: Revision | None


@dataclass(frozen=True, slots=True)
class Origin:
    """A parsed RFC 6454 serialised origin.

    Attributes:
        scheme: The scheme, lowercase.
        host: The host, lowercase, without a trailing dot; IPv6 compressed, without brackets.
        port: The explicit port, or ``None`` when the origin has none.
    """

    scheme: str
    host: str
    port: int | None


def _split(value: str, sep: str) -> list[str]:
    """Split ``value`` on ``sep`` outside double-quoted strings (with backslash escapes)."""
    if '"' not in value:
        return value.split(sep)
    parts: list[str] = []
    start, quoted, escaped = 0, False, False
    for i, char in enumerate(value):
        if escaped:
            escaped = False
        elif quoted:
            escaped, quoted = char == "\\", char != '"'
        elif char == '"':
            quoted = True
        elif char == sep:
            parts.append(value[start:i])
            start = i + 1
    parts.append(value[start:])
    return parts


def _parse_media(value: str) -> tuple[str, str, list[tuple[str, str]]] | None:
    """Parse ``type/subtype *(; name=value)`` into its lowercase parts; ``None`` if malformed."""
    head, *rest = _split(value, ";")
    type_, _, subtype = head.strip(_OWS).partition("/")
    if not (_TOKEN.fullmatch(type_) and _TOKEN.fullmatch(subtype)):
        return None
    params: list[tuple[str, str]] = []
    for raw in rest:
        if not raw.strip(_OWS):  # RFC 9110 allows empty parameters: "a/b;;c=d;"
            continue
        name, eq, val = raw.partition("=")
        name, val = name.strip(_OWS), val.strip(_OWS)
        if not (eq and _TOKEN.fullmatch(name)):
            return None
        if quoted := _QUOTED.fullmatch(val):
            val = re.sub(r"\\(.)", r"\1", quoted.group(1), flags=re.DOTALL)
        elif not _TOKEN.fullmatch(val):
            return None
        params.append((name.lower(), val))
    return type_.lower(), subtype.lower(), params


def parse_accept(value: str | None) -> Acceptable:
    """Decide which of JSON and SSE an ``Accept`` header (RFC 9110 section 12.5.1) allows.

    Each media range may carry parameters and a ``q`` weight; ``q=0`` means "not acceptable".
    The most specific matching range wins (``type/subtype`` over ``type/*`` over ``*/*``); among
    equally specific ranges the highest weight wins, so the result does not depend on order.
    Parameters other than ``q`` are checked for syntax but otherwise ignored. Malformed elements
    (bad syntax, bad or repeated ``q``) are skipped, so a present header with no usable element
    accepts nothing.

    Args:
        value: The header value, or ``None`` when the header is missing.

    Returns:
        The acceptability of ``application/json`` and ``text/event-stream``; both ``True``
        when the header is missing.
    """
    if value is None:
        return Acceptable(json=True, sse=True)
    best: dict[tuple[str, str], tuple[int, float]] = {_JSON: (-1, 0.0), _SSE: (-1, 0.0)}
    for element in _split(value, ","):
        if not element.strip(_OWS) or (media := _parse_media(element)) is None:
            continue
        type_, subtype, params = media
        weights = [val for name, val in params if name == "q"]
        if (type_ == "*" and subtype != "*") or len(weights) > 1:
            continue
        if weights and not _QVALUE.fullmatch(weights[0]):
            continue
        q = float(weights[0]) if weights else 1.0
        for target in (_JSON, _SSE):
            if type_ in ("*", target[0]) and subtype in ("*", target[1]):
                specificity = (type_ != "*") + (subtype != "*")
                best[target] = max(best[target], (specificity, q))
    return Acceptable(json=best[_JSON][1] > 0, sse=best[_SSE][1] > 0)


def parse_content_type(value: str) -> tuple[str, dict[str, str]] | None:
    """Parse a ``Content-Type`` header value (RFC 9110 section 8.3).

    Args:
        value: The header value.

    Returns:
        The lowercase ``type/subtype`` and the parameters (lowercase names; quoted-string values
        unquoted, values otherwise kept as sent), or ``None`` if the value is malformed or
        repeats a parameter name.
    """
    media = _parse_media(value)
    if media is None:
        return None
    type_, subtype, pairs = media
    params = dict(pairs)
    return (f"{type_}/{subtype}", params) if len(params) == len(pairs) else None


def is_json_content_type(value: str | None) -> bool:
    """Tell whether a ``Content-Type`` header denotes UTF-8 ``application/json``.

    Args:
        value: The header value, or ``None`` when the header is missing.

    Returns:
        ``True`` for ``application/json`` with no ``charset`` or a ``utf-8``/``utf8`` one.
    """
    parsed = None if value is None else parse_content_type(value)
    if parsed is None or parsed[0] != "application/json":
        return False
    return parsed[1].get("charset", "utf-8").lower() in ("utf-8", "utf8")


def is_valid_session_id(value: str) -> bool:
    """Tell whether ``value`` is a valid session ID: 1 to 256 visible ASCII characters (0x21-0x7E).

    Args:
        value: The ``Mcp-Session-Id`` header value.

    Returns:
        ``True`` if the session ID is well formed.
    """
    return len(value) <= MAX_SESSION_ID_LENGTH and _SESSION_ID.fullmatch(value) is not None


def check_protocol_version(value: str | None) -> ProtocolVersionCheck:
    """Read an ``MCP-Protocol-Version`` header against the table of known revisions.

    Whether the transport *serves* the revision is its own decision (its configuration and
    era rules); this only says which revision, if any, the header names.

    Args:
        value: The header value, or ``None`` when the header is missing.

    Returns:
        What was requested and the revision it names; a missing header names the revision
        the spec lets a server assume (2025-03-26).
    """
    if value is None:
        return ProtocolVersionCheck(None, revision(ASSUMED_WITHOUT_HEADER))
    requested = value.strip(_OWS)
    return ProtocolVersionCheck(requested, revision(requested))


def _parse_authority(value: str, *, any_port: bool = False) -> tuple[str, int | None] | None:
    """Parse ``host[:port]`` into a normalised host and port (``_ANY_PORT`` for ``:*``)."""
    if value.startswith("["):
        inner, bracket, tail = value[1:].partition("]")
        try:
            ip = ipaddress.IPv6Address(inner) if "%" not in inner else None
        except ValueError:
            ip = None
        if not bracket or ip is None or (tail and not tail.startswith(":")):
            return None
        host, port_text = ip.compressed, tail[1:] if tail else None
    else:
        host, colon, port_text = value.partition(":")
        if not _REG_NAME.fullmatch(host):
            return None
        host, port_text = host.lower().removesuffix("."), port_text if colon else None
    if port_text is None:
        return host, None
    if any_port and port_text == "*":
        return host, _ANY_PORT
    if not _PORT.fullmatch(port_text) or not 0 < int(port_text) < 65536:
        return None
    return host, int(port_text)


def _parse_origin(value: str, *, any_port: bool) -> Origin | None:
    """Parse ``scheme://host[:port]`` (and ``:*`` if ``any_port``) into an :class:`Origin`."""
    scheme, sep, authority = value.strip(_OWS).partition("://")
    if not (sep and _SCHEME.fullmatch(scheme)):
        return None
    parsed = _parse_authority(authority, any_port=any_port)
    return None if parsed is None else Origin(scheme.lower(), *parsed)


def _port_matches(pattern: int | None, port: int | None) -> bool:
    """Match a port against a pattern's port: ``_ANY_PORT`` matches any port or none."""
    return pattern in (_ANY_PORT, port)


def parse_host(value: str) -> tuple[str, int | None] | None:
    """Parse a ``Host`` header such as ``localhost:8000`` or ``[::1]:8000``.

    Host names are limited to letters, digits, ``-``, ``_`` and dots; IPv6 zone IDs, an empty
    port (``host:``) and port 0 are rejected.

    Args:
        value: The header value.

    Returns:
        The lowercase host (without a trailing dot; IPv6 compressed, without brackets) and the
        explicit port or ``None``; ``None`` if the value is malformed.
    """
    return _parse_authority(value.strip(_OWS))


def parse_origin(value: str) -> Origin | None:
    """Parse an RFC 6454 serialised origin ``scheme://host[:port]``.

    Hosts follow the rules of :func:`parse_host`.

    Args:
        value: The ``Origin`` header value.

    Returns:
        The parsed origin, or ``None`` for ``null`` and for anything malformed, including values
        with a path, query, fragment, userinfo or a bad port.
    """
    return _parse_origin(value, any_port=False)


def is_loopback_host(host: str) -> bool:
    """Tell whether a host name (optionally bracketed IPv6) is one of :data:`LOOPBACK_HOSTS`.

    Args:
        host: A host without port, e.g. ``localhost``, ``127.0.0.1``, ``::1`` or ``[::1]``.

    Returns:
        ``True`` if the host is a loopback name, compared after normalisation.
    """
    bracketed = host if host.startswith("[") or ":" not in host else f"[{host}]"
    parsed = _parse_authority(bracketed)
    return parsed is not None and parsed[1] is None and parsed[0] in LOOPBACK_HOSTS


def host_allowed(host_header: str | None, allowed: Iterable[str]) -> bool:
    """Check a ``Host`` header against an allow list (DNS rebinding protection).

    Entries are ``host`` (that host with no explicit port), ``host:port`` (exactly that port) or
    ``host:*`` (any port, or none); IPv6 hosts are bracketed, e.g. ``[::1]:*``. Hosts compare
    case-insensitively, ignoring a trailing dot. Malformed entries match nothing.

    Args:
        host_header: The header value, or ``None`` when the header is missing.
        allowed: The allow list.

    Returns:
        ``True`` if the header is present, well formed and matches an entry.
    """
    parsed = None if host_header is None else parse_host(host_header)
    if parsed is None:
        return False
    for entry in allowed:
        pattern = _parse_authority(entry.strip(_OWS), any_port=True)
        if pattern is not None and pattern[0] == parsed[0] and _port_matches(pattern[1], parsed[1]):
            return True
    return False


def origin_allowed(origin_header: str | None, allowed: Iterable[str]) -> bool:
    """Check an ``Origin`` header against an allow list (DNS rebinding protection).

    Entries are ``scheme://host``, ``scheme://host:port`` or ``scheme://host:*``, with the same
    port semantics as :func:`host_allowed`; the scheme must match too. Malformed entries match
    nothing.

    Args:
        origin_header: The header value, or ``None`` when the header is missing.
        allowed: The allow list.

    Returns:
        ``True`` when the header is missing (non-browser clients) or matches an entry; ``False``
        for ``null``, malformed or unlisted origins.
    """
    if origin_header is None:
        return True
    origin = parse_origin(origin_header)
    if origin is None:
        return False
    for entry in allowed:
        pattern = _parse_origin(entry, any_port=True)
        if (
            pattern is not None
            and (pattern.scheme, pattern.host) == (origin.scheme, origin.host)
            and _port_matches(pattern.port, origin.port)
        ):
            return True
    return False


def loopback_allow_lists() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Build the allow lists for a server bound to a loopback address.

    Returns:
        ``(allowed_hosts, allowed_origins)``: ``localhost``, ``127.0.0.1`` and ``[::1]`` on any
        port, and the ``http`` and ``https`` origins of those hosts on any port.
    """
    hosts = ("localhost:*", "127.0.0.1:*", "[::1]:*")
    return hosts, tuple(f"{scheme}://{host}" for scheme in ("http", "https") for host in hosts)
