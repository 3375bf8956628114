"""The status table: every rejection maps to one HTTP status and a JSON-RPC error body."""

from __future__ import annotations

import json

import pytest

from trio_mcp_http._core.rejections import REJECTIONS, Rejection, rejection_response

EXPECTED_STATUS = {
    Rejection.PARSE_ERROR: 400,
    Rejection.INVALID_MESSAGE: 400,
    Rejection.BATCH_NOT_ALLOWED: 400,
    Rejection.BATCH_TOO_LARGE: 400,
    Rejection.REPEATED_HEADER: 400,
    Rejection.MISSING_SESSION_ID: 400,
    Rejection.MALFORMED_SESSION_ID: 400,
    Rejection.UNSUPPORTED_PROTOCOL_VERSION: 400,
    Rejection.ALREADY_INITIALIZED: 400,
    Rejection.DUPLICATE_REQUEST_ID: 400,
    Rejection.UNKNOWN_EVENT_ID: 400,
    Rejection.UNAUTHORIZED: 401,
    Rejection.INSUFFICIENT_SCOPE: 403,
    Rejection.FORBIDDEN_ORIGIN: 403,
    Rejection.FORBIDDEN_HOST: 403,
    Rejection.SESSION_NOT_FOUND: 404,
    Rejection.NOT_FOUND_PATH: 404,
    Rejection.METHOD_NOT_ALLOWED: 405,
    Rejection.NOT_ACCEPTABLE: 406,
    Rejection.STREAM_CONFLICT: 409,
    Rejection.EVENTS_EVICTED: 410,
    Rejection.BODY_TIMEOUT: 408,
    Rejection.BODY_TOO_LARGE: 413,
    Rejection.UNSUPPORTED_MEDIA_TYPE: 415,
    Rejection.INTERNAL_ERROR: 500,
    Rejection.TOO_MANY_SESSIONS: 503,
    Rejection.TOO_MANY_CONNECTIONS: 503,
    Rejection.TOO_MANY_EXCHANGES: 503,
    Rejection.SHUTTING_DOWN: 503,
}


def test_table_covers_every_rejection() -> None:
    assert set(REJECTIONS) == set(Rejection) == set(EXPECTED_STATUS)


@pytest.mark.parametrize("rejection", list(Rejection))
def test_each_rejection_has_its_status_and_an_id_less_jsonrpc_error(rejection: Rejection) -> None:
    response = rejection_response(rejection)
    assert response.status == EXPECTED_STATUS[rejection]
    assert (b"content-type", b"application/json") in response.headers
    body = json.loads(response.body)
    assert body["jsonrpc"] == "2.0"
    assert body["id"] is None
    assert body["error"]["code"] == REJECTIONS[rejection].code
    assert body["error"]["message"] == REJECTIONS[rejection].message


def test_parse_error_uses_code_32700_and_the_rest_32600_or_32603() -> None:
    assert REJECTIONS[Rejection.PARSE_ERROR].code == -32700
    assert REJECTIONS[Rejection.INTERNAL_ERROR].code == -32603
    others = set(Rejection) - {Rejection.PARSE_ERROR, Rejection.INTERNAL_ERROR}
    assert {REJECTIONS[r].code for r in others} == {-32600}


def test_405_carries_allow() -> None:
    response = rejection_response(Rejection.METHOD_NOT_ALLOWED, allow="GET, POST, DELETE")
    assert (b"allow", b"GET, POST, DELETE") in response.headers


def test_503_carries_retry_after() -> None:
    response = rejection_response(Rejection.TOO_MANY_SESSIONS, retry_after=5)
    assert (b"retry-after", b"5") in response.headers


def test_close_asks_for_the_connection_to_be_dropped() -> None:
    response = rejection_response(Rejection.BODY_TIMEOUT, close=True)
    assert (b"connection", b"close") in response.headers
    assert (b"connection", b"close") not in rejection_response(Rejection.BODY_TIMEOUT).headers


def test_401_carries_the_challenge() -> None:
    response = rejection_response(
        Rejection.UNAUTHORIZED, www_authenticate=b'Bearer resource_metadata="u"'
    )
    assert (b"www-authenticate", b'Bearer resource_metadata="u"') in response.headers


def test_message_and_data_override() -> None:
    response = rejection_response(
        Rejection.UNSUPPORTED_PROTOCOL_VERSION, message="m", data={"supported": ["x"]}
    )
    assert json.loads(response.body)["error"] == {
        "code": -32600,
        "message": "m",
        "data": {"supported": ["x"]},
    }
