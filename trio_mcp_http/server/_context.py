"""The context a tool, resource or prompt function receives.

It describes the request and its session, and holds the ways back to the client: logging,
progress, sampling, elicitation, roots and ping.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import pydantic_core
from pydantic import BaseModel, ValidationError

from .._core.jsonrpc import INTERNAL_ERROR, as_request_id
from .._core.levels import LogLevel, is_log_level, level_enabled
from .._core.per_request import CLIENT_CAPABILITIES, CLIENT_INFO, LOG_LEVEL
from ._content import SamplingMessage, dump
from ._errors import CapabilityNotNegotiated, McpError
from ._input_required import CAPABILITY_OF, MissingClientCapability
from ._results import ElicitResult, Root, SamplingResult

if TYPE_CHECKING:
    from .._application import RequestContext, SessionContext
    from .._core.jsonrpc import RequestId
    from ._handler import McpSessionHandler
    from ._input_required import InputRound
    from ._server import McpServer

__all__ = ["Context"]

IncludeContext = Literal["none", "thisServer", "allServers"]
_M = TypeVar("_M", bound=BaseModel)


@lru_cache(maxsize=256)
def _model_schema(model: type[BaseModel]) -> bytes:
    """A model's JSON Schema as JSON text, built once per model.

    Building a schema costs about 250 us; parsing the text back, about 1.5 us, and each ask
    gets dicts of its own that nothing else shares.
    """
    return pydantic_core.to_json(model.model_json_schema())


class Context:
    """One client request as a registered function sees it.

    Declare a parameter annotated with ``Context`` (any name) to receive it; it is not part of
    the input schema. Annotations are resolved when the function is registered, so ``Context``
    must be importable at run time where the function is defined (not only under
    ``TYPE_CHECKING``).

    Notifications it sends travel on the request's own SSE stream, before the response. Log
    messages pass when their level is at least the session's level, which is ``"info"`` until
    the client sends ``logging/setLevel``. Requests to the client (:meth:`sample`,
    :meth:`elicit`, :meth:`list_roots`, :meth:`ping`) are sent only when the client declared
    the matching capability, and wait at most the transport's ``client_request_timeout`` for
    the answer; a timeout cancels the request (the client gets ``notifications/cancelled``)
    and raises :class:`~trio_mcp_http.ClientRequestTimeout`.
    Cancellation of the handler itself (``notifications/cancelled`` from the client) is never
    caught here.

    In the per-request era (2026-07-28) the client's capabilities, identity and log level come
    with each request (``_meta``), logging is off unless the request asked for a level, and the
    asks (:meth:`elicit`, :meth:`sample`, :meth:`list_roots`, :meth:`ask`) are answered through
    input-required results: the request is answered "input required", the client retries with
    the answers, and the function runs again; each ask then returns its answer (see
    :mod:`trio_mcp_http.server._input_required`). The same code serves both eras.

    Args:
        handler: The session handler.
        request: The transport's context of the request being handled.
        meta: The request's ``params._meta`` object, if any.
        inputs: The answers of an input-required request (per-request era: ``tools/call``,
            ``resources/read`` and ``prompts/get``); ``None`` where input cannot be asked.
    """

    def __init__(
        self,
        handler: McpSessionHandler,
        request: RequestContext,
        meta: Mapping[str, Any] | None = None,
        inputs: InputRound | None = None,
    ) -> None:
        self._handler = handler
        self._request = request
        self._meta = dict(meta) if meta else {}
        self._inputs = inputs
        self._per_request = handler.per_request

    # -- what the request is ------------------------------------------------------------

    @property
    def server(self) -> McpServer:
        """The server the request is handled by."""
        return self._handler.server

    @property
    def session(self) -> SessionContext:
        """The transport's session (for unrelated notifications on the standalone stream)."""
        return self._handler.session

    @property
    def request_context(self) -> RequestContext:
        """The transport's context of this request (raw related messages)."""
        return self._request

    @property
    def session_id(self) -> str | None:
        """The ``Mcp-Session-Id``, or ``None`` in stateless mode."""
        return self._handler.session.session_id

    @property
    def request_id(self) -> RequestId:
        """The JSON-RPC id of the request."""
        return self._request.request_id

    @property
    def meta(self) -> dict[str, Any]:
        """The request's ``_meta`` object (empty if it had none)."""
        return self._meta

    @property
    def progress_token(self) -> str | int | None:
        """The ``_meta.progressToken`` the client sent, or ``None``."""
        return as_request_id(self._meta.get("progressToken"))

    @property
    def protocol_version(self) -> str:
        """The protocol version negotiated for the session."""
        return self._handler.protocol_version

    @property
    def per_request(self) -> bool:
        """Whether the request is of the per-request era (2026-07-28), which has no session."""
        return self._per_request

    @property
    def client_capabilities(self) -> dict[str, Any]:
        """The capabilities the client declared (in ``initialize``, or in this request)."""
        if self._per_request:
            capabilities = self._meta.get(CLIENT_CAPABILITIES)
            return capabilities if isinstance(capabilities, dict) else {}
        return self._handler.client_capabilities

    @property
    def client_info(self) -> dict[str, Any]:
        """The ``clientInfo`` the client sent (in ``initialize``, or with this request)."""
        if self._per_request:
            info = self._meta.get(CLIENT_INFO)
            return info if isinstance(info, dict) else {}
        return self._handler.client_info

    @property
    def log_level(self) -> LogLevel | None:
        """The level below which log messages are dropped; ``None``: logging is off.

        The session's level (``logging/setLevel``, ``"info"`` at first), or in the per-request
        era the level the request asked for, if any.
        """
        if self._per_request:
            level = self._meta.get(LOG_LEVEL)
            return level if is_log_level(level) else None
        return self._handler.log_level

    @property
    def raw_request_state(self) -> str | None:
        """The ``requestState`` the client sent, as it is (for ``own_request_state`` tools)."""
        return None if self._inputs is None else self._inputs.raw_state

    @property
    def input_responses(self) -> dict[str, dict[str, Any]]:
        """The answers this run can use (per-request era), by key; empty elsewhere."""
        return {} if self._inputs is None else dict(self._inputs.answers)

    # -- notifications -------------------------------------------------------------------

    async def log(self, level: LogLevel, data: Any, logger: str | None = None) -> None:
        """Send a ``notifications/message`` if ``level`` passes the session's log level.

        Args:
            level: The severity.
            data: Any JSON-serialisable value (a string, an object, ...).
            logger: An optional logger name.

        Raises:
            ValueError: ``level`` is not a log level.
        """
        if not is_log_level(level):
            raise ValueError(f"not a log level: {level!r}")
        threshold = self.log_level
        if threshold is None or not level_enabled(level, threshold):
            return
        params: dict[str, Any] = {"level": level, "data": data}
        if logger is not None:
            params["logger"] = logger
        await self._request.send_notification("notifications/message", params)

    async def debug(self, data: Any, logger: str | None = None) -> None:
        """Log at ``debug`` level (see :meth:`log`)."""
        await self.log("debug", data, logger)

    async def info(self, data: Any, logger: str | None = None) -> None:
        """Log at ``info`` level (see :meth:`log`)."""
        await self.log("info", data, logger)

    async def warning(self, data: Any, logger: str | None = None) -> None:
        """Log at ``warning`` level (see :meth:`log`)."""
        await self.log("warning", data, logger)

    async def error(self, data: Any, logger: str | None = None) -> None:
        """Log at ``error`` level (see :meth:`log`)."""
        await self.log("error", data, logger)

    async def report_progress(
        self, progress: float, total: float | None = None, message: str | None = None
    ) -> None:
        """Send ``notifications/progress``, only if the client asked for progress.

        The client asks by sending ``_meta.progressToken``; without it this does nothing.

        Args:
            progress: Progress so far; it should increase with every call.
            total: The total, if known.
            message: An optional human-readable message.
        """
        token = self.progress_token
        if token is None:
            return
        params: dict[str, Any] = {"progressToken": token, "progress": progress}
        if total is not None:
            params["total"] = total
        if message is not None:
            params["message"] = message
        await self._request.send_notification("notifications/progress", params)

    def close_sse_stream(self) -> None:
        """Close the request's SSE connection without ending its stream (SSE polling).

        The client reconnects with ``Last-Event-ID`` and gets what it missed, the response
        included. This needs a resumable stream, that is an event store on the transport
        (``ServerConfig.event_store``) and a session: elsewhere (the per-request era, no
        store) it does nothing, since what the stream carries next would be lost.
        """
        self._request.close_sse_stream()

    # -- requests to the client ----------------------------------------------------------

    def require_capability(self, *names: str) -> None:
        """Refuse the request unless the client declared every capability named.

        Raises:
            MissingClientCapability: Per-request era (-32021, HTTP 400).
            CapabilityNotNegotiated: Handshake era.
        """
        missing = [name for name in names if self.client_capabilities.get(name) is None]
        if not missing:
            return
        if self._per_request:
            raise MissingClientCapability({name: {} for name in missing})
        raise CapabilityNotNegotiated(missing[0], "this request")

    async def ask(self, requests: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
        """Ask the client several things at once; return its answers by key.

        Each request is ``{"method": ..., "params": ...}`` (``elicitation/create``,
        ``sampling/createMessage`` or ``roots/list``). In the per-request era they go out in
        one input-required result (the function runs again with every answer); in the
        handshake era they are sent one after another.

        Raises:
            InputRequired: Per-request era, some answers are still missing (the server
                answers input-required; do not catch it).
            MissingClientCapability: Per-request era, a capability the client lacks.
            CapabilityNotNegotiated: Handshake era, a capability the client lacks.
        """
        for request in requests.values():
            capability = CAPABILITY_OF.get(request["method"])
            if capability is not None:
                self.require_capability(capability)
        if self._per_request:
            if self._inputs is None:
                raise McpError(
                    INTERNAL_ERROR, "input can only be asked for by tools, resources and prompts"
                )
            return self._inputs.gather(requests)
        return {
            key: await self._request.send_request(request["method"], request.get("params"))
            for key, request in requests.items()
        }

    async def _ask(
        self, method: str, params: dict[str, Any] | None, capability: str | None, key: str | None
    ) -> dict[str, Any]:
        if self._per_request:
            if capability is not None:
                self.require_capability(capability)
            if self._inputs is None:
                raise McpError(
                    INTERNAL_ERROR, f"{method} can only be asked by tools, resources and prompts"
                )
            place = self._inputs.next_key(method)  # every ask takes a place in the run
            chosen = place if key is None else key
            request = {"method": method, "params": params or {}}
            return self._inputs.gather({chosen: request})[chosen]
        if capability is not None and self._handler.client_capabilities.get(capability) is None:
            raise CapabilityNotNegotiated(capability, method)
        return await self._request.send_request(method, params)

    async def sample(
        self,
        messages: str | Sequence[SamplingMessage | str],
        max_tokens: int,
        *,
        system_prompt: str | None = None,
        temperature: float | None = None,
        stop_sequences: Sequence[str] | None = None,
        model_preferences: Mapping[str, Any] | None = None,
        include_context: IncludeContext | None = None,
        metadata: Mapping[str, Any] | None = None,
        key: str | None = None,
    ) -> SamplingResult:
        """Ask the client's LLM for a completion (``sampling/createMessage``).

        Args:
            messages: The conversation; a string is one user text message.
            max_tokens: The most tokens to sample.
            system_prompt: An optional system prompt.
            temperature: An optional sampling temperature.
            stop_sequences: Optional stop sequences.
            model_preferences: Optional ``modelPreferences`` object.
            include_context: Which MCP context the client should include.
            metadata: Optional provider-specific metadata.
            key: The key of the ask in an input-required result (default: its place in the
                run). Give one when the order of asks can change between runs.

        Returns:
            The client's answer.

        Raises:
            CapabilityNotNegotiated: The client did not declare ``sampling``.
            ClientRequestTimeout: No answer within ``client_request_timeout``.
            JsonRpcError: The client answered with an error (e.g. the user refused).
            BackChannelUnavailable: The request cannot reach the client (JSON response mode,
                stateless mode).
        """
        items = [messages] if isinstance(messages, str) else messages
        wire = [dump(SamplingMessage.user(m) if isinstance(m, str) else m) for m in items]
        params: dict[str, Any] = {"messages": wire, "maxTokens": max_tokens}
        optional = {
            "systemPrompt": system_prompt,
            "temperature": temperature,
            "stopSequences": None if stop_sequences is None else list(stop_sequences),
            "modelPreferences": None if model_preferences is None else dict(model_preferences),
            "includeContext": include_context,
            "metadata": None if metadata is None else dict(metadata),
        }
        params.update({k: v for k, v in optional.items() if v is not None})
        result = await self._ask("sampling/createMessage", params, "sampling", key)
        return _parse(SamplingResult, result, "sampling/createMessage")

    async def elicit(
        self,
        message: str,
        requested_schema: Mapping[str, Any] | type[BaseModel],
        *,
        key: str | None = None,
    ) -> ElicitResult:
        """Ask the user for input through the client (``elicitation/create``, form mode).

        Args:
            message: What to ask.
            requested_schema: A flat JSON Schema object of primitive properties, or a
                pydantic model whose schema is used.
            key: The key of the ask in an input-required result (default: its place in the
                run).

        Returns:
            The user's action and, when accepted, the submitted values (not validated).

        Raises:
            CapabilityNotNegotiated: The client did not declare ``elicitation``.
            ClientRequestTimeout: No answer within ``client_request_timeout``.
            JsonRpcError: The client answered with an error.
            BackChannelUnavailable: The request cannot reach the client.
        """
        if isinstance(requested_schema, type):
            schema = pydantic_core.from_json(_model_schema(requested_schema))  # its own dicts
        else:
            schema = dict(requested_schema)
        params = {"message": message, "requestedSchema": schema}
        result = await self._ask("elicitation/create", params, "elicitation", key)
        return _parse(ElicitResult, result, "elicitation/create")

    async def list_roots(self, *, key: str | None = None) -> list[Root]:
        """Ask the client for its roots (``roots/list``).

        Raises:
            CapabilityNotNegotiated: The client did not declare ``roots``.
            ClientRequestTimeout: No answer within ``client_request_timeout``.
            JsonRpcError: The client answered with an error.
            BackChannelUnavailable: The request cannot reach the client.
        """
        result = await self._ask("roots/list", None, "roots", key)
        roots = result.get("roots")
        if not isinstance(roots, list):
            raise McpError(INTERNAL_ERROR, "invalid roots/list result from the client")
        return [_parse(Root, root, "roots/list") for root in roots]

    async def ping(self) -> None:
        """Ping the client and wait for its empty answer.

        Raises:
            ClientRequestTimeout: No answer within ``client_request_timeout``.
            BackChannelUnavailable: The request cannot reach the client.
        """
        if self._per_request:
            raise McpError(INTERNAL_ERROR, "there is no ping in the per-request era")
        await self._ask("ping", None, None, None)


def _parse(model: type[_M], value: Any, method: str) -> _M:
    try:
        return model.model_validate(value)
    except ValidationError as exc:
        raise McpError(INTERNAL_ERROR, f"invalid {method} result from the client: {exc}") from exc
