"""JSON-RPC classification and serialisation (sans-IO, Hypothesis)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trio_mcp_http._core.jsonrpc import (
    INVALID_REQUEST,
    PARSE_ERROR,
    Batch,
    ErrorObject,
    ErrorResponse,
    Invalid,
    JsonRpcError,
    Notification,
    Request,
    Response,
    classify,
    dump_message,
    dump_messages,
    dump_notification,
    error_body,
    make_notification,
)

ids = st.integers(-(2**63), 2**63) | st.text(max_size=20)
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=10),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=10,
)
params = st.none() | st.dictionaries(st.text(max_size=8), json_values, max_size=4)
methods = st.text(min_size=1, max_size=30)


@st.composite
def valid_messages(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(["request", "notification", "response", "error"]))
    message: dict[str, Any] = {"jsonrpc": "2.0"}
    if kind in ("request", "notification"):
        message["method"] = draw(methods)
        p = draw(params)
        if p is not None:
            message["params"] = p
    if kind == "request":
        message["id"] = draw(ids)
    if kind == "response":
        message["id"] = draw(ids)
        message["result"] = draw(st.dictionaries(st.text(max_size=8), json_values, max_size=4))
    if kind == "error":
        message["id"] = draw(ids | st.none())
        message["error"] = {
            "code": draw(st.integers(-(2**31), 2**31)),
            "message": draw(st.text(max_size=20)),
        }
    return message


@given(st.binary(max_size=300))
def test_classify_never_raises_on_arbitrary_bytes(body: bytes) -> None:
    result = classify(body)
    assert isinstance(result, Request | Notification | Response | ErrorResponse | Batch | Invalid)


@given(json_values)
def test_classify_never_raises_on_arbitrary_json(value: Any) -> None:
    result = classify(json.dumps(value).encode())
    if isinstance(result, Invalid):
        assert result.error.code == INVALID_REQUEST


@given(valid_messages())
def test_every_valid_message_is_classified_by_kind_and_round_trips(message: dict[str, Any]) -> None:
    result = classify(json.dumps(message).encode())
    expected_kind = (
        Request
        if "method" in message and "id" in message
        else Notification
        if "method" in message
        else Response
        if "result" in message
        else ErrorResponse
    )
    assert type(result) is expected_kind
    assert not isinstance(result, Batch | Invalid)
    assert json.loads(dump_message(result)) == message
    assert classify(dump_message(result)) == result


@given(st.lists(valid_messages(), min_size=1, max_size=5))
def test_batch_items_are_classified_one_by_one(messages: list[dict[str, Any]]) -> None:
    result = classify(json.dumps(messages).encode())
    assert isinstance(result, Batch)
    assert len(result.items) == len(messages)
    assert not any(isinstance(item, Invalid) for item in result.items)
    dumped = dump_messages([item for item in result.items if not isinstance(item, Invalid)])
    assert json.loads(dumped) == messages


@given(st.text(max_size=30), params)
def test_dump_notification_is_dump_message_of_the_notification(
    method: str, params: dict[str, Any] | None
) -> None:
    assert dump_notification(method, params) == dump_message(make_notification(method, params))


def test_request_ids_keep_their_type() -> None:
    one = classify(b'{"jsonrpc":"2.0","id":1,"method":"m"}')
    one_str = classify(b'{"jsonrpc":"2.0","id":"1","method":"m"}')
    assert isinstance(one, Request)
    assert isinstance(one_str, Request)
    assert one.id == 1
    assert one_str.id == "1"
    keyed: dict[int | str, str] = {one.id: "int", one_str.id: "str"}
    assert len(keyed) == 2  # distinct dictionary keys, never collapsed through str()


@pytest.mark.parametrize("bad_id", ["null", "true", "1.5", "[1]", "{}"])
def test_null_bool_float_and_structured_ids_are_invalid(bad_id: str) -> None:
    result = classify(f'{{"jsonrpc":"2.0","id":{bad_id},"method":"m"}}'.encode())
    assert isinstance(result, Invalid)
    assert result.error.code == INVALID_REQUEST


def test_parse_error_for_non_json() -> None:
    for body in (b"", b"{", b"\xff", b"nul", b'{"a":1}x'):
        result = classify(body)
        assert isinstance(result, Invalid)
        assert result.error.code == PARSE_ERROR


def test_empty_batch_is_invalid_request() -> None:
    result = classify(b"[]")
    assert isinstance(result, Invalid)
    assert result.error.code == INVALID_REQUEST


def test_invalid_request_keeps_a_readable_id() -> None:
    result = classify(b'{"jsonrpc":"2.0","id":7,"method":42}')
    assert isinstance(result, Invalid)
    assert result.id == 7


def test_wrong_version_and_missing_members_are_invalid() -> None:
    for body in (
        b'{"jsonrpc":"1.0","id":1,"method":"m"}',
        b'{"id":1,"method":"m"}',
        b'{"jsonrpc":"2.0"}',
        b'{"jsonrpc":"2.0","id":1,"result":[]}',
    ):
        result = classify(body)
        assert isinstance(result, Invalid), body


def test_serialisation_is_compact_and_omits_absent_members() -> None:
    request = Request(jsonrpc="2.0", id=1, method="m")
    assert dump_message(request) == b'{"jsonrpc":"2.0","id":1,"method":"m"}'
    error = ErrorResponse(jsonrpc="2.0", id=None, error=ErrorObject(code=-1, message="x"))
    assert dump_message(error) == b'{"jsonrpc":"2.0","id":null,"error":{"code":-1,"message":"x"}}'


def test_error_body_has_null_id_and_data() -> None:
    assert json.loads(error_body(-32600, "bad", {"k": 1})) == {
        "jsonrpc": "2.0",
        "id": None,
        "error": {"code": -32600, "message": "bad", "data": {"k": 1}},
    }


def test_jsonrpc_error_converts_to_error_object() -> None:
    error = JsonRpcError(-32602, "Invalid params", {"uri": "x"}).to_error()
    assert (error.code, error.message, error.data) == (-32602, "Invalid params", {"uri": "x"})
