"""JSON-RPC 2.0 messages: models, a classifier for raw bodies, and compact serialisation.

Theory of operation
-------------------
A POST body is classified in two steps. First the bytes are parsed as JSON; failure is a
*parse error* (-32700). Then the JSON value is sorted by its keys into one of the four message
kinds and validated by that kind's pydantic model; failure is an *invalid request* (-32600).
A JSON array is a batch whose items are classified one by one (an empty array is itself an
invalid request). :func:`classify` never raises, whatever bytes it is given.

Request ids keep their JSON type: ``1`` and ``"1"`` are different ids, booleans and floats are
not ids, and ``null`` is only allowed as the id of an error response whose request could not be
read. Ids are therefore used as dictionary keys as they are, never through ``str()``; an id read
from a message's params (``notifications/cancelled``, ``progressToken``) goes through
:func:`as_request_id` first, so ``true`` or ``1.0`` never finds the request whose id is ``1``.

Only JSON goes in and out (RFC 8259 section 6): ``NaN``, ``Infinity`` and numbers too large for a
float are refused on input (parse error), and :func:`dump_message` raises :class:`NotJson` rather
than emit them.

This module does no I/O and imports nothing from trio.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Annotated, Any, Final, Literal, TypeAlias

import pydantic_core
from pydantic import BaseModel, ConfigDict, Strict, TypeAdapter, ValidationError

__all__ = [
    "INTERNAL_ERROR",
    "INVALID_PARAMS",
    "INVALID_REQUEST",
    "METHOD_NOT_FOUND",
    "PARSE_ERROR",
    "REQUEST_CANCELLED",
    "REQUEST_TIMEOUT",
    "Batch",
    "ErrorObject",
    "ErrorResponse",
    "Invalid",
    "JsonRpcError",
    "Message",
    "NotJson",
    "Notification",
    "Request",
    "RequestId",
    "Response",
    "as_request_id",
    "classify",
    "dump_message",
    "dump_messages",
    "dump_notification",
    "encode_json",
    "error_body",
    "make_error",
    "make_notification",
    "make_request",
    "make_response",
]

PARSE_ERROR: Final = -32700
INVALID_REQUEST: Final = -32600
METHOD_NOT_FOUND: Final = -32601
INVALID_PARAMS: Final = -32602
INTERNAL_ERROR: Final = -32603
#: Sent for a request that was cancelled before it could be answered.
REQUEST_CANCELLED: Final = -32800
#: A request to the other side got no answer in time (the MCP SDKs' code).
REQUEST_TIMEOUT: Final = -32001

RequestId: TypeAlias = Annotated[int, Strict()] | Annotated[str, Strict()]
"""A JSON-RPC request id: an integer or a string, compared with its type."""

_MODEL_CONFIG = ConfigDict(frozen=True, extra="ignore", strict=True)


def as_request_id(value: object) -> RequestId | None:
    """Return ``value`` if it is a valid request id (an int or a str, not a bool), else None.

    Use it before looking up an id taken from params, so that ``true`` or ``1.0`` never
    matches the id ``1`` and an unhashable value never reaches a dict.
    """
    kind = type(value)
    return value if kind is int or kind is str else None  # type: ignore[return-value]


class ErrorObject(BaseModel):
    """The ``error`` member of an error response."""

    model_config = _MODEL_CONFIG

    code: int
    message: str
    data: Any = None


class Request(BaseModel):
    """A request: it has an id and expects exactly one response."""

    model_config = _MODEL_CONFIG

    jsonrpc: Literal["2.0"]
    id: RequestId
    method: str
    params: dict[str, Any] | None = None


class Notification(BaseModel):
    """A notification: a method call that gets no response."""

    model_config = _MODEL_CONFIG

    jsonrpc: Literal["2.0"]
    method: str
    params: dict[str, Any] | None = None


class Response(BaseModel):
    """A successful response to the request with the same id."""

    model_config = _MODEL_CONFIG

    jsonrpc: Literal["2.0"]
    id: RequestId
    result: dict[str, Any]


class ErrorResponse(BaseModel):
    """An error response; ``id`` is ``None`` when the request's id could not be read."""

    model_config = _MODEL_CONFIG

    jsonrpc: Literal["2.0"]
    id: RequestId | None
    error: ErrorObject


Message: TypeAlias = Request | Notification | Response | ErrorResponse
"""Any single JSON-RPC message."""


@dataclass(frozen=True, slots=True)
class Invalid:
    """A body, or batch item, that is not a valid message.

    Attributes:
        error: The JSON-RPC error to answer with (parse error or invalid request).
        id: The id of the offending request when it could be read, else ``None``.
    """

    error: ErrorObject
    id: int | str | None = None


@dataclass(frozen=True, slots=True)
class Batch:
    """A JSON array of messages (allowed on the 2025-03-26 revision only).

    Attributes:
        items: Each item classified on its own; invalid items are :class:`Invalid`.
    """

    items: tuple[Message | Invalid, ...]


class JsonRpcError(Exception):
    """Raise from a handler to answer a request with a JSON-RPC error response.

    Args:
        code: The JSON-RPC error code.
        message: A short human-readable description.
        data: Optional JSON-serialisable detail.
    """

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data

    def to_error(self) -> ErrorObject:
        """Return the error as the ``error`` member of a response."""
        return ErrorObject(code=self.code, message=self.message, data=self.data)


_ADAPTERS: Final[dict[type[BaseModel], TypeAdapter[Any]]] = {
    kind: TypeAdapter(kind) for kind in (Request, Notification, Response, ErrorResponse)
}


def _kind_of(value: dict[str, Any]) -> type[BaseModel] | None:
    if "method" in value:
        return Request if "id" in value else Notification
    if "result" in value:
        return Response
    if "error" in value:
        return ErrorResponse
    return None


def _readable_id(value: dict[str, Any]) -> int | str | None:
    return as_request_id(value.get("id"))


def _invalid(message: str, request_id: int | str | None = None) -> Invalid:
    return Invalid(ErrorObject(code=INVALID_REQUEST, message=message), request_id)


def _classify_value(value: Any) -> Message | Invalid:
    if not isinstance(value, dict):
        return _invalid("Invalid Request: a message must be a JSON object")
    kind = _kind_of(value)
    if kind is None:
        return _invalid("Invalid Request: not a request, notification or response", None)
    try:
        message: Message = _ADAPTERS[kind].validate_python(value)
    except ValidationError as exc:
        detail = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'message'}: {err['msg']}"
            for err in exc.errors(include_url=False)[:3]
        )
        return _invalid(f"Invalid Request: {detail}", _readable_id(value))
    return message


def classify(body: bytes) -> Message | Batch | Invalid:
    """Classify a raw HTTP body as one message, a batch, or an invalid input.

    Never raises: any bytes at all yield a result.

    Args:
        body: The request body, expected to be UTF-8 JSON.

    Returns:
        A :data:`Message`, a :class:`Batch`, or an :class:`Invalid` carrying the error
        (-32700 for bytes that are not JSON, -32600 for JSON that is not a message).
    """
    try:
        value = pydantic_core.from_json(body, allow_inf_nan=False)
    except ValueError:
        return Invalid(ErrorObject(code=PARSE_ERROR, message="Parse error: body is not JSON"))
    if _MAYBE_HUGE.search(body) is not None and not _finite(value):
        return Invalid(
            ErrorObject(code=PARSE_ERROR, message="Parse error: a number is out of range")
        )
    if isinstance(value, list):
        if not value:
            return _invalid("Invalid Request: empty batch")
        return Batch(tuple(_classify_value(item) for item in value))
    return _classify_value(value)


# A number that may overflow a float to infinity: a three-digit exponent, or 309 digits in a row.
# Only bodies with one are walked for non-finite values (numbers like 1e400 parse as inf).
_MAYBE_HUGE: Final = re.compile(rb"[0-9][eE]\+?[0-9]{3}|[0-9]{309}")


def _finite(value: Any) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, dict):
        return all(_finite(item) for item in value.values())
    if isinstance(value, list):
        return all(_finite(item) for item in value)
    return True


class NotJson(ValueError):
    """A message holds a value JSON cannot carry.

    That is a non-finite number (``NaN``, infinity) or an object with no JSON form.
    """


def encode_json(value: Any) -> bytes:
    """Serialise ``value`` as compact UTF-8 JSON, strictly (RFC 8259: finite numbers only).

    Raises:
        NotJson: ``value`` holds a non-finite number or an object with no JSON form.
    """
    try:
        data = pydantic_core.to_json(value)
    except pydantic_core.PydanticSerializationError as exc:
        raise NotJson(f"not serialisable as JSON: {exc}") from None
    # pydantic writes non-finite floats as the bare tokens NaN/Infinity. Those letters can only
    # appear inside strings otherwise, so the exact check runs only when they appear at all.
    if (b"NaN" in data or b"Infinity" in data) and pydantic_core.to_json(
        value, inf_nan_mode="null"
    ) != pydantic_core.to_json(value, inf_nan_mode="strings"):
        raise NotJson("JSON has no NaN or infinity (RFC 8259 section 6)")
    return data


# -- building messages: the one way, for the transport, the server layer and the client ------
# ``model_construct`` skips validation: these are built from values that are valid already.


def make_request(
    request_id: RequestId, method: str, params: dict[str, Any] | None = None
) -> Request:
    """A request (to serialise with :func:`dump_message`)."""
    return Request.model_construct(jsonrpc="2.0", id=request_id, method=method, params=params)


def make_notification(method: str, params: dict[str, Any] | None = None) -> Notification:
    """A notification."""
    return Notification.model_construct(jsonrpc="2.0", method=method, params=params)


def make_response(request_id: RequestId, result: dict[str, Any]) -> Response:
    """A successful response."""
    return Response.model_construct(jsonrpc="2.0", id=request_id, result=result)


def make_error(
    request_id: RequestId | None, code: int, message: str, data: Any = None
) -> ErrorResponse:
    """An error response (``request_id`` ``None`` when the request's id could not be read)."""
    error = ErrorObject.model_construct(code=code, message=message, data=data)
    return ErrorResponse.model_construct(jsonrpc="2.0", id=request_id, error=error)


def _message_dict(message: Message) -> dict[str, Any]:
    # Built by hand: this is the hot path of every reply, and it is exact about which members
    # appear (``params``/``data`` only when present, ``id: null`` kept on error responses).
    if isinstance(message, Request):
        out: dict[str, Any] = {"jsonrpc": "2.0", "id": message.id, "method": message.method}
        if message.params is not None:
            out["params"] = message.params
        return out
    if isinstance(message, Notification):
        return _notification_dict(message.method, message.params)
    if isinstance(message, Response):
        return {"jsonrpc": "2.0", "id": message.id, "result": message.result}
    error: dict[str, Any] = {"code": message.error.code, "message": message.error.message}
    if message.error.data is not None:
        error["data"] = message.error.data
    return {"jsonrpc": "2.0", "id": message.id, "error": error}


def _notification_dict(method: str, params: dict[str, Any] | None) -> dict[str, Any]:
    out: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
    if params is not None:
        out["params"] = params
    return out


def dump_notification(method: str, params: dict[str, Any] | None = None) -> bytes:
    """Serialise a notification as :func:`dump_message` does, without building its model.

    Every notification the server sends takes this path; skipping the model costs about a
    quarter of the time.

    Raises:
        NotJson: ``params`` holds a non-finite number or a value with no JSON form.
    """
    return encode_json(_notification_dict(method, params))


def dump_message(message: Message) -> bytes:
    """Serialise one message as compact UTF-8 JSON (round-trips through :func:`classify`).

    Raises:
        NotJson: The message holds a non-finite number or a value with no JSON form.
    """
    return encode_json(_message_dict(message))


def dump_messages(messages: list[Message]) -> bytes:
    """Serialise several messages as one compact JSON array (a batch).

    Raises:
        NotJson: A message holds a non-finite number or a value with no JSON form.
    """
    return encode_json([_message_dict(m) for m in messages])


def error_body(
    code: int, message: str, data: Any = None, request_id: RequestId | None = None
) -> bytes:
    """The bytes of an error response for an HTTP error body (``id: null`` by default)."""
    return dump_message(make_error(request_id, code, message, data))
