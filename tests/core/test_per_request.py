"""The per-request era's pure rules: the validation ladder, the header codec, x-mcp-header."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trio_mcp_http._core.jsonrpc import Request
from trio_mcp_http._core.per_request import (
    CLIENT_CAPABILITIES,
    PROTOCOL_VERSION,
    MirroredParam,
    check_mirrored_headers,
    check_request,
    decode_header_value,
    encode_header_value,
    header_text,
    http_status,
    mirrored_params,
    names_per_request,
)

SUPPORTED = ("2026-07-28",)
ABSENT = object()


def meta(version: object = "2026-07-28", capabilities: object = ABSENT) -> dict[str, Any]:
    out: dict[str, Any] = {CLIENT_CAPABILITIES: {} if capabilities is ABSENT else capabilities}
    if version is not ABSENT:
        out[PROTOCOL_VERSION] = version
    if capabilities is None:
        del out[CLIENT_CAPABILITIES]
    return out


# -- the ladder: every combination, against the order the spec's tests pin -------------------

methods = st.sampled_from(["tools/list", "tools/call", "resources/read", "prompts/get", "ping"])
versions = st.sampled_from(["2026-07-28", "2099-01-01"])


@st.composite
def cases(draw: st.DrawFn) -> tuple[Request, dict[str, str], tuple[int, int] | None]:
    """A request, its headers, and the (code, status) the ladder must give (None: passes)."""
    method = draw(methods)
    params: dict[str, Any] = {}
    name = draw(st.text(min_size=1, max_size=8))
    if method in ("tools/call", "prompts/get"):
        params["name"] = name
    elif method == "resources/read":
        params["uri"] = name
    has_meta = draw(st.booleans()) or draw(st.booleans())
    version = draw(versions)
    has_version = draw(st.sampled_from([True, True, True, False]))
    has_caps = draw(st.sampled_from([True, True, True, False]))
    if has_meta:
        params["_meta"] = meta(version if has_version else ABSENT, {} if has_caps else None)
    headers: dict[str, str] = {}
    header_version = draw(st.sampled_from(["same", "same", "other", "absent"]))
    if header_version != "absent":
        headers["mcp-protocol-version"] = version if header_version == "same" else "2025-11-25"
    method_header = draw(st.sampled_from(["same", "same", "other", "absent"]))
    if method_header != "absent":
        headers["mcp-method"] = method if method_header == "same" else "tools/other"
    name_header = draw(st.sampled_from(["same", "base64", "other", "bad", "absent"]))
    if name_header == "same":
        headers["mcp-name"] = f"  {name}  " if name.strip() == name and name.isascii() else name
    elif name_header == "base64":
        headers["mcp-name"] = "=?base64?" + base64.b64encode(name.encode()).decode() + "?="
    elif name_header == "other":
        headers["mcp-name"] = name + "x"
    elif name_header == "bad":
        headers["mcp-name"] = "=?base64?%%%?="
    request = Request(jsonrpc="2.0", id=1, method=method, params=params)
    # The expected verdict, in the ladder's order.
    expected: tuple[int, int] | None
    if not (has_meta and has_version and has_caps):
        expected = (-32602, 400)
    elif header_version != "same" or method_header != "same":
        expected = (-32020, 400)
        if header_version == "same" and version not in SUPPORTED:
            expected = (-32022, 400)
    elif version not in SUPPORTED:
        expected = (-32022, 400)
    elif method in ("tools/call", "prompts/get", "resources/read") and (
        name_header in ("other", "bad", "absent")
        or (name_header == "same" and headers["mcp-name"].strip(" \t") != name)
    ):
        expected = (-32020, 400)
    elif method == "ping":
        expected = (-32601, 404)
    else:
        expected = None
    return request, headers, expected


@given(cases())
def test_the_ladder_gives_the_status_and_code_of_the_table(
    case: tuple[Request, dict[str, str], tuple[int, int] | None],
) -> None:
    request, headers, expected = case
    failure = check_request(request, headers.get, SUPPORTED)
    got = None if failure is None else (failure.code, failure.status)
    assert got == expected, (request.params, headers)
    if failure is not None and failure.code == -32022:
        assert failure.data == {"supported": ["2026-07-28"], "requested": "2099-01-01"}


def test_status_of_errors() -> None:
    assert [http_status(c) for c in (-32700, -32600, -32602, -32020, -32021, -32022)] == [400] * 6
    assert http_status(-32601) == 404
    assert http_status(-32603) == http_status(-1) == 200


def test_what_names_the_per_request_era() -> None:
    with_meta = Request(jsonrpc="2.0", id=1, method="x", params={"_meta": meta("2099-01-01")})
    plain = Request(jsonrpc="2.0", id=1, method="x")
    assert names_per_request("2026-07-28", plain, SUPPORTED)
    assert names_per_request(None, with_meta, SUPPORTED)  # a modern client without the header
    assert not names_per_request("2025-11-25", plain, SUPPORTED)
    assert not names_per_request(None, plain, SUPPORTED)


# -- the Base64 sentinel --------------------------------------------------------------------


@given(st.text())
def test_any_value_survives_the_header_codec(value: str) -> None:
    encoded = encode_header_value(value)
    assert encoded.isascii()
    assert all(" " <= c <= "~" for c in encoded)
    assert decode_header_value(encoded) == value


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("=?base64?SGVsbG8=?=", "Hello"),
        ("=?base64?SGVsbG8?=", None),  # missing padding
        ("=?base64?SGVs!!!bG8=?=", None),  # not the alphabet
        ("SGVsbG8=", "SGVsbG8="),  # no prefix: literal
        ("=?base64?SGVsbG8=", "=?base64?SGVsbG8="),  # no suffix: literal
        ("=?BASE64?SGVsbG8=?=", "=?BASE64?SGVsbG8=?="),  # wrong case: literal
        ("  spaced  ", "spaced"),
        ("=?base64?/w==?=", None),  # not UTF-8
    ],
)
def test_sentinel_decoding_is_strict(raw: str, value: str | None) -> None:
    assert decode_header_value(raw) == value


def test_plain_values_stay_plain_and_the_rest_is_encoded() -> None:
    assert encode_header_value("us west 1") == "us west 1"
    assert encode_header_value("Hello, 世界") == "=?base64?SGVsbG8sIOS4lueVjA==?="
    assert encode_header_value(" padded ") == "=?base64?IHBhZGRlZCA=?="
    assert encode_header_value("=?base64?literal?=") == "=?base64?PT9iYXNlNjQ/bGl0ZXJhbD89?="


# -- x-mcp-header ----------------------------------------------------------------------------


def schema(**properties: Any) -> dict[str, Any]:
    return {"type": "object", "properties": properties}


def test_mirrored_params_are_found_through_properties() -> None:
    found = mirrored_params(
        schema(
            region={"type": "string", "x-mcp-header": "Region"},
            nested={
                "type": "object",
                "properties": {"n": {"type": "integer", "x-mcp-header": "N"}},
            },
            plain={"type": "string"},
        )
    )
    assert found == (
        MirroredParam("mcp-param-region", ("region",)),
        MirroredParam("mcp-param-n", ("nested", "n")),
    )


@pytest.mark.parametrize(
    "bad",
    [
        schema(a={"type": "number", "x-mcp-header": "A"}),  # not integer/string/boolean
        schema(a={"type": "string", "x-mcp-header": "Has Space"}),
        schema(a={"type": "string", "x-mcp-header": ""}),
        schema(
            a={"type": "string", "x-mcp-header": "A"}, b={"type": "string", "x-mcp-header": "a"}
        ),
        schema(a={"type": "array", "items": {"type": "string", "x-mcp-header": "A"}}),
        {"type": "object", "anyOf": [schema(a={"type": "string", "x-mcp-header": "A"})]},
        {"type": "string", "x-mcp-header": "Root"},
    ],
)
def test_invalid_annotations_are_refused(bad: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="x-mcp-header"):
        mirrored_params(bad)


def test_mirrored_headers_against_the_arguments() -> None:
    params = mirrored_params(
        schema(
            r={"type": "string", "x-mcp-header": "R"}, n={"type": "integer", "x-mcp-header": "N"}
        )
    )

    def check(arguments: dict[str, Any], headers: dict[str, str]) -> str | None:
        return check_mirrored_headers(params, arguments, headers.get)

    both = {"mcp-param-r": "Hello", "mcp-param-n": "42"}
    assert check({"r": "Hello", "n": 42}, both) is None
    assert check({"r": "Hello", "n": 42}, {**both, "mcp-param-r": "=?base64?SGVsbG8=?="}) is None
    assert check({"r": "Hello", "n": 42}, {**both, "mcp-param-n": "42.0"}) is None
    assert check({"r": "Hello", "n": 42.0}, both) is None
    assert check({"r": "Hello"}, {"mcp-param-r": "Hello"}) is None  # absent: no header
    assert check({"r": "Hello", "n": None}, {"mcp-param-r": "Hello"}) is None  # null: no header
    assert "missing" in (check({"r": "Hello", "n": 42}, {"mcp-param-r": "Hello"}) or "")
    assert "differs" in (check({"r": "Hello", "n": 42}, {**both, "mcp-param-r": "Bye"}) or "")
    assert "Base64" in (
        check({"r": "Hello", "n": 42}, {**both, "mcp-param-r": "=?base64?x?="}) or ""
    )
    assert "no value" in (check({"r": "Hello"}, both) or "")


def test_header_text_of_arguments() -> None:
    assert [header_text(v) for v in ("a", 7, -3, True, False, 2.0, 2.5, None, [1])] == [
        "a",
        "7",
        "-3",
        "true",
        "false",
        "2",
        None,
        None,
        None,
    ]
