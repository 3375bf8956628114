"""Tests for the sans-IO HTTP header rules in ``trio_mcp_http._core.headers``."""

from __future__ import annotations

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from trio_mcp_http._core.headers import (
    LOOPBACK_HOSTS,
    MAX_SESSION_ID_LENGTH,
    Acceptable,
    Origin,
    ProtocolVersionCheck,
    check_protocol_version,
    host_allowed,
    is_json_content_type,
    is_loopback_host,
    is_valid_session_id,
    loopback_allow_lists,
    origin_allowed,
    parse_accept,
    parse_content_type,
    parse_host,
    parse_origin,
)
from trio_mcp_http._core.versions import revision

BOTH = Acceptable(json=True, sse=True)
JSON_ONLY = Acceptable(json=True, sse=False)
SSE_ONLY = Acceptable(json=False, sse=True)
NEITHER = Acceptable(json=False, sse=False)

# Arbitrary text, biased towards the characters that matter to header syntax.
header_text = st.one_of(
    st.text(),
    st.text(alphabet=st.sampled_from([*' \t,;=/*"\\:[]@.?#%qQ019aAeEfF-', "\x00", "\x7f"])),
)

# --- Accept: properties -----------------------------------------------------------------------

MEDIA_RANGES = [
    "application/json",
    "Application/JSON",
    "text/event-stream",
    "TEXT/Event-Stream",
    "application/*",
    "text/*",
    "*/*",
    "text/html",
    "image/png",
]
VALID_QVALUES = ["0", "0.", "0.0", "0.000", "0.5", "0.001", "0.999", "1", "1.0", "1.000"]
QVALUES = [*VALID_QVALUES, "2", "abc", "0.5000", ".5"]
EXTRA_PARAMS = ["charset=utf-8", 'profile="a,b;c"', 'x="\\"q=0\\""', "level=1"]


@st.composite
def accept_elements(draw: st.DrawFn) -> list[list[str]]:
    """Draw Accept elements, each a list of ``;``-separated parts."""
    elements = []
    for _ in range(draw(st.integers(min_value=0, max_value=6))):
        parts = [draw(st.sampled_from(MEDIA_RANGES))]
        parts += draw(st.lists(st.sampled_from(EXTRA_PARAMS), max_size=2))
        if draw(st.booleans()):
            parts.append("q=" + draw(st.sampled_from(QVALUES)))
        elements.append(parts)
    return elements


def render(elements: list[list[str]], ws: list[str] | None = None) -> str:
    """Join elements into an Accept value, with optional whitespace around separators."""
    spaces = iter(ws or [])

    def pad() -> str:
        return next(spaces, "")

    return (pad() + "," + pad()).join((pad() + ";" + pad()).join(parts) for parts in elements)


@given(elements=accept_elements(), data=st.data())
def test_accept_order_independent(elements: list[list[str]], data: st.DataObject) -> None:
    shuffled = data.draw(st.permutations(elements))
    assert parse_accept(render(shuffled)) == parse_accept(render(elements))


@given(
    elements=accept_elements(),
    ws=st.lists(st.text(alphabet=" \t", max_size=3), max_size=40),
)
def test_accept_whitespace_insensitive(elements: list[list[str]], ws: list[str]) -> None:
    assert parse_accept(render(elements, ws)) == parse_accept(render(elements))


@given(elements=accept_elements())
def test_accept_empty_elements_ignored(elements: list[list[str]]) -> None:
    value = render(elements)
    assert parse_accept(f", ,{value},,") == parse_accept(value)


@given(q_json=st.sampled_from(VALID_QVALUES), q_sse=st.sampled_from(VALID_QVALUES))
def test_accept_specific_ranges_follow_q(q_json: str, q_sse: str) -> None:
    value = f"*/*;q=0, application/json;q={q_json}, text/event-stream;q={q_sse}"
    assert parse_accept(value) == Acceptable(json=float(q_json) > 0, sse=float(q_sse) > 0)


@given(value=header_text)
def test_accept_never_raises(value: str) -> None:
    assert isinstance(parse_accept(value), Acceptable)


# --- Accept: examples -------------------------------------------------------------------------


def test_accept_missing_header_accepts_both() -> None:
    assert parse_accept(None) == BOTH


def test_accept_both_listed() -> None:
    assert parse_accept("application/json, text/event-stream") == BOTH


def test_accept_empty_header_accepts_nothing() -> None:
    assert parse_accept("") == NEITHER
    assert parse_accept(" , ,") == NEITHER


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("*/*", BOTH),
        ("application/*", JSON_ONLY),
        ("text/*", SSE_ONLY),
        ("application/*, text/*", BOTH),
        ("image/*", NEITHER),
    ],
)
def test_accept_wildcards(value: str, expected: Acceptable) -> None:
    assert parse_accept(value) == expected


def test_accept_invalid_wildcard_ignored() -> None:
    assert parse_accept("*/json, */event-stream") == NEITHER


def test_accept_case_insensitive() -> None:
    assert parse_accept("APPLICATION/JSON, Text/Event-Stream;Q=1") == BOTH


def test_accept_q_zero_excludes() -> None:
    assert parse_accept("application/json;q=0, text/event-stream") == SSE_ONLY
    assert parse_accept("application/json, text/event-stream;q=0.000") == JSON_ONLY


def test_accept_nonzero_q_accepts() -> None:
    assert parse_accept("application/json;q=0.001, text/event-stream;q=0.5") == BOTH


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("*/*, text/event-stream;q=0", JSON_ONLY),
        ("*/*, application/json;q=0", SSE_ONLY),
        ("*/*;q=0, application/json", JSON_ONLY),
        ("text/*;q=0, text/event-stream", SSE_ONLY),
        ("text/*, text/event-stream;q=0, */*", JSON_ONLY),
        ("application/*;q=0, */*", SSE_ONLY),
    ],
)
def test_accept_specific_overrides_wildcard(value: str, expected: Acceptable) -> None:
    assert parse_accept(value) == expected


def test_accept_equally_specific_takes_highest_q() -> None:
    assert parse_accept("application/json;q=0, application/json;q=0.3") == JSON_ONLY


@pytest.mark.parametrize("q", ["2", "1.5", "abc", ".5", "0.5000", "", "-0", "0,5"])
def test_accept_malformed_q_element_absent(q: str) -> None:
    assert parse_accept(f"text/event-stream;q={q}, application/json") == JSON_ONLY


def test_accept_repeated_q_element_absent() -> None:
    assert parse_accept("text/event-stream;q=1;q=0, application/json") == JSON_ONLY


@pytest.mark.parametrize(
    "element", ["application", "application/", "/json", "application/json;charset", "app lic/json"]
)
def test_accept_malformed_element_absent(element: str) -> None:
    assert parse_accept(f"{element}, text/event-stream") == SSE_ONLY


def test_accept_parameters_other_than_q_tolerated() -> None:
    assert parse_accept('application/json;charset=utf-8, text/event-stream;x="a,b";q=1') == BOTH
    assert parse_accept("application/json;;q=0;, text/event-stream;") == SSE_ONLY


def test_accept_quoted_comma_does_not_split() -> None:
    # Without quote awareness "q=0" would look like a separate (malformed) element.
    assert parse_accept('text/event-stream;x="a, b";q=0, application/json') == JSON_ONLY


# --- Content-Type -----------------------------------------------------------------------------


@given(value=header_text)
def test_content_type_never_raises(value: str) -> None:
    assert isinstance(is_json_content_type(value), bool)
    parsed = parse_content_type(value)
    assert parsed is None or "/" in parsed[0]


@pytest.mark.parametrize(
    "value",
    [
        "application/json",
        "Application/JSON",
        " application/json ",
        "application/json;",
        "application/json ;; ",
    ],
)
def test_content_type_plain_json(value: str) -> None:
    assert is_json_content_type(value)


@pytest.mark.parametrize(
    "value",
    [
        "application/json; charset=utf-8",
        "application/json;charset=UTF-8",
        "application/json ; Charset = utf8",
        'application/json; charset="utf-8"',
        "application/json; charset=utf-8; profile=mcp",
    ],
)
def test_content_type_with_charset_param(value: str) -> None:
    assert is_json_content_type(value)


@pytest.mark.parametrize(
    "value",
    [
        "application/json; charset=latin-1",
        "application/json; charset=utf-16",
        'application/json; charset=""',
        "application/json; charset=utf-8; charset=latin-1",
    ],
)
def test_content_type_wrong_charset_rejected(value: str) -> None:
    assert not is_json_content_type(value)


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        "text/plain",
        "application/jsonx",
        "application/json-seq",
        "application",
        "application/json, text/plain",
        "application/*",
        "text/event-stream",
    ],
)
def test_content_type_not_json_rejected(value: str | None) -> None:
    assert not is_json_content_type(value)


def test_content_type_parsed_parts() -> None:
    assert parse_content_type('Text/Plain; Charset="UTF-8"; X="a\\"b;c"') == (
        "text/plain",
        {"charset": "UTF-8", "x": 'a"b;c'},
    )


@pytest.mark.parametrize(
    "value", ["", "text", "text/", "/plain", "text/plain; x", 'text/plain; x="open', "te xt/plain"]
)
def test_content_type_malformed_is_none(value: str) -> None:
    assert parse_content_type(value) is None


def test_content_type_repeated_param_is_none() -> None:
    assert parse_content_type("application/json; charset=utf-8; CHARSET=utf-8") is None


# --- Session ID -------------------------------------------------------------------------------


def reference_session_id(value: str) -> bool:
    """State the spec rule literally: 1..256 characters in 0x21..0x7E."""
    return 1 <= len(value) <= MAX_SESSION_ID_LENGTH and all(0x21 <= ord(c) <= 0x7E for c in value)


session_text = st.one_of(
    st.text(),
    st.text(alphabet=st.characters(min_codepoint=0x1F, max_codepoint=0x80), max_size=300),
    st.integers(min_value=250, max_value=262).map(lambda n: "a" * n),
)


@given(value=session_text)
@example(value="a" * MAX_SESSION_ID_LENGTH)
@example(value="a" * (MAX_SESSION_ID_LENGTH + 1))
@example(value="abc\n")
def test_session_id_matches_reference(value: str) -> None:
    assert is_valid_session_id(value) is reference_session_id(value)


def test_session_id_visible_ascii_only() -> None:
    assert is_valid_session_id("!~09azAZ-_.")
    assert is_valid_session_id("".join(chr(c) for c in range(0x21, 0x7F)))
    for bad in [" ", "\x7f", "\x00", "é", "a b", "abc\n", "\tabc", "ab\u00a0"]:
        assert not is_valid_session_id(bad), bad


def test_session_id_length_bounded() -> None:
    assert not is_valid_session_id("")
    assert is_valid_session_id("x")
    assert is_valid_session_id("x" * MAX_SESSION_ID_LENGTH)
    assert not is_valid_session_id("x" * (MAX_SESSION_ID_LENGTH + 1))
    assert not is_valid_session_id("x" * 1_000_000)


# --- Protocol version -------------------------------------------------------------------------


@given(value=header_text)
def test_protocol_version_never_raises(value: str) -> None:
    check = check_protocol_version(value)
    assert check.requested == value.strip(" \t")
    assert check.revision is None or check.revision.version == check.requested


def test_protocol_version_missing_assumes_2025_03_26() -> None:
    assert check_protocol_version(None) == ProtocolVersionCheck(None, revision("2025-03-26"))


@pytest.mark.parametrize("version", ["2025-03-26", "2025-06-18", "2025-11-25", "2026-07-28"])
def test_protocol_version_known(version: str) -> None:
    expected = ProtocolVersionCheck(version, revision(version))
    assert check_protocol_version(version) == expected
    assert check_protocol_version(f" {version}\t") == expected


@pytest.mark.parametrize(
    "value",
    [
        "2000-01-01",
        "2099-01-01",
        "invalid-protocol-version",
        "",
        " ",
        "2025-06-18x",
        "2025-06-18, 2025-03-26",
        "2025-6-18",
        "\x002025-06-18",
        "2025-06-18" * 1000,
    ],
)
def test_protocol_version_unknown(value: str) -> None:
    assert check_protocol_version(value).revision is None


# --- Origin and Host parsing ------------------------------------------------------------------


def render_host(host: str, port: int | None) -> str:
    """Serialise a parsed host and port back into ``host[:port]`` form."""
    text = f"[{host}]" if ":" in host else host
    return text if port is None else f"{text}:{port}"


@given(value=header_text)
@example(value="http://[" + ":" * 10_000 + "]")
@example(value="http://a:" + "9" * 10_000)
def test_origin_and_host_never_raise(value: str) -> None:
    origin = parse_origin(value)
    if origin is not None:  # normalised: lowercase, and stable when re-serialised
        assert origin.scheme == origin.scheme.lower()
        assert origin.host == origin.host.lower()
        assert parse_origin(f"{origin.scheme}://{render_host(origin.host, origin.port)}") == origin
    host = parse_host(value)
    if host is not None:
        assert host[1] is None or 0 < host[1] < 65536
        assert parse_host(render_host(*host)) == host
    assert isinstance(is_loopback_host(value), bool)
    assert isinstance(host_allowed(value, ["localhost:*", value]), bool)
    assert isinstance(origin_allowed(value, ["http://localhost:*", value]), bool)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("http://localhost:8000", Origin("http", "localhost", 8000)),
        ("HTTPS://Example.COM", Origin("https", "example.com", None)),
        ("http://127.0.0.1", Origin("http", "127.0.0.1", None)),
        ("http://[::1]:3000", Origin("http", "::1", 3000)),
        ("http://[0:0:0:0:0:0:0:1]", Origin("http", "::1", None)),
        ("http://[::FFFF:7F00:1]", Origin("http", "::ffff:7f00:1", None)),
        ("http://localhost.:80", Origin("http", "localhost", 80)),
        ("chrome-extension://abcdef", Origin("chrome-extension", "abcdef", None)),
    ],
)
def test_origin_parsed(value: str, expected: Origin) -> None:
    assert parse_origin(value) == expected


def test_origin_null_rejected() -> None:
    assert parse_origin("null") is None
    assert not origin_allowed("null", loopback_allow_lists()[1])
    assert not origin_allowed("null", ["null"])


@pytest.mark.parametrize(
    "value",
    [
        "http://localhost/",
        "http://localhost:8000/mcp",
        "http://localhost?x=1",
        "http://localhost#f",
        "http://[::1]/",
    ],
)
def test_origin_with_path_rejected(value: str) -> None:
    assert parse_origin(value) is None


@pytest.mark.parametrize(
    "value",
    [
        "http://user@localhost",
        "http://user:pw@localhost:80",
        "http://evil.com@localhost",
        "http://localhost:",
        "http://localhost:0",
        "http://localhost:65536",
        "http://localhost:8x",
        "http://localhost:-1",
        "http://localhost:*",
        "http://localhost:\u0663",
        "http://",
        "localhost:8000",
        "//localhost",
        "1http://localhost",
        "http:/localhost",
        "http://local host",
        "http://localhost..",
        "http://[::1",
        "http://[::1]x",
        "http://[zz::1]",
        "http://[fe80::1%25eth0]",
        "http://::1",
        "http://a http://b",
        "http://ex\u00e4mple.com",
    ],
)
def test_origin_malformed_rejected(value: str) -> None:
    assert parse_origin(value) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("localhost", ("localhost", None)),
        ("LocalHost:8000", ("localhost", 8000)),
        ("localhost.:8000", ("localhost", 8000)),
        ("127.0.0.1:65535", ("127.0.0.1", 65535)),
        ("[::1]", ("::1", None)),
        ("[::1]:8000", ("::1", 8000)),
        ("[0::1]:1", ("::1", 1)),
        (" example.com ", ("example.com", None)),
    ],
)
def test_host_parsed(value: str, expected: tuple[str, int | None]) -> None:
    assert parse_host(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        "",
        ":8000",
        "localhost:",
        "localhost:0",
        "localhost:99999",
        "localhost:80:80",
        "::1",
        "::1:8000",
        "[::1",
        "[::1]8000",
        "evil.com@localhost",
        "localhost/path",
        "a b",
        "local\x00host",
        "localhost:*",
        ".",
        "a..b",
        "[v1.x]",
        "[127.0.0.1]",
    ],
)
def test_host_malformed_rejected(value: str) -> None:
    assert parse_host(value) is None


# --- Loopback and allow lists -----------------------------------------------------------------


def test_ipv6_loopback_host() -> None:
    assert is_loopback_host("::1")
    assert is_loopback_host("[::1]")
    assert is_loopback_host("0:0:0:0:0:0:0:1")
    assert parse_host("[::1]:8000") == ("::1", 8000)
    assert host_allowed("[::1]:8000", loopback_allow_lists()[0])
    assert not is_loopback_host("::2")
    assert not is_loopback_host("[::1]:8000")


@pytest.mark.parametrize("host", ["localhost", "LOCALHOST", "localhost.", "127.0.0.1"])
def test_loopback_names(host: str) -> None:
    assert is_loopback_host(host)


@pytest.mark.parametrize(
    "host",
    ["", "example.com", "localhost.evil.com", "127.0.0.2", "127.1", "localhost:80", "0.0.0.0"],
)
def test_non_loopback_names(host: str) -> None:
    assert not is_loopback_host(host)


def test_loopback_hosts_constant() -> None:
    assert frozenset({"localhost", "127.0.0.1", "::1"}) == LOOPBACK_HOSTS
    assert all(is_loopback_host(host) for host in LOOPBACK_HOSTS)


def test_host_missing_rejected() -> None:
    assert not host_allowed(None, ["localhost:*"])


def test_host_exact_port_pattern() -> None:
    allowed = ["example.com:8443"]
    assert host_allowed("example.com:8443", allowed)
    assert host_allowed("EXAMPLE.com:8443", allowed)
    assert not host_allowed("example.com:8444", allowed)
    assert not host_allowed("example.com", allowed)


def test_host_bare_pattern_means_no_port() -> None:
    assert host_allowed("example.com", ["example.com"])
    assert not host_allowed("example.com:8000", ["example.com"])


def test_host_any_port_pattern() -> None:
    allowed = ["localhost:*"]
    assert host_allowed("localhost:8000", allowed)
    assert host_allowed("localhost:1", allowed)
    assert host_allowed("localhost", allowed)
    assert not host_allowed("localhost.evil.com:8000", allowed)
    assert not host_allowed("127.0.0.1:8000", allowed)


def test_host_malformed_entries_match_nothing() -> None:
    assert not host_allowed("localhost", ["", "localhost:", "::1", "*", "local host"])
    assert not host_allowed("[::1]:80", ["::1:*", "::1"])
    assert host_allowed("[::1]:80", ["bad entry", "[0:0::1]:*"])


def test_loopback_allow_lists_contents() -> None:
    hosts, origins = loopback_allow_lists()
    assert set(hosts) == {"localhost:*", "127.0.0.1:*", "[::1]:*"}
    assert set(origins) == {
        f"{scheme}://{host}"
        for scheme in ("http", "https")
        for host in ("localhost:*", "127.0.0.1:*", "[::1]:*")
    }


@pytest.mark.parametrize(
    "host",
    ["localhost", "localhost:8000", "127.0.0.1:3000", "[::1]:8000", "[::1]", "LOCALHOST:80"],
)
def test_loopback_hosts_allowed(host: str) -> None:
    assert host_allowed(host, loopback_allow_lists()[0])


@pytest.mark.parametrize(
    "host",
    ["evil.com", "evil.com:8000", "localhost.evil.com", "127.0.0.1.nip.io:80", "0.0.0.0:8000"],
)
def test_dns_rebinding_host_rejected_by_loopback_lists(host: str) -> None:
    assert not host_allowed(host, loopback_allow_lists()[0])


def test_missing_origin_allowed() -> None:
    assert origin_allowed(None, loopback_allow_lists()[1])
    assert origin_allowed(None, [])


@pytest.mark.parametrize(
    "origin",
    [
        "http://localhost:8000",
        "https://localhost",
        "http://127.0.0.1:5173",
        "http://[::1]:3000",
        "HTTP://LOCALHOST:8000",
    ],
)
def test_loopback_origin_allowed_by_loopback_lists(origin: str) -> None:
    assert origin_allowed(origin, loopback_allow_lists()[1])


@pytest.mark.parametrize(
    "origin",
    [
        "http://evil.com",
        "https://evil.com:8000",
        "http://localhost.evil.com",
        "http://evil.com:80",
        "ftp://localhost:21",
        "http://localhost:8000/",
        "http://evil.com@localhost",
        "null",
        "",
    ],
)
def test_evil_origin_rejected_by_loopback_lists(origin: str) -> None:
    assert not origin_allowed(origin, loopback_allow_lists()[1])


def test_origin_scheme_must_match() -> None:
    assert origin_allowed("https://example.com", ["https://example.com"])
    assert not origin_allowed("http://example.com", ["https://example.com"])


def test_origin_port_patterns() -> None:
    assert origin_allowed("https://example.com", ["https://example.com"])
    assert not origin_allowed("https://example.com:8443", ["https://example.com"])
    assert origin_allowed("https://example.com:8443", ["https://example.com:8443"])
    assert origin_allowed("https://example.com:8443", ["https://example.com:*"])
    assert not origin_allowed("https://example.com:8443", ["https://example.com:9443"])


def test_origin_malformed_entries_match_nothing() -> None:
    allowed = ["localhost:*", "http://", "*", "http://localhost/", "http://localhost:"]
    assert not origin_allowed("http://localhost", allowed)
