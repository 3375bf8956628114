"""The context a tool, resource or prompt function receives.

It describes the request and its session, and holds the ways back to the client: logging,
progress, sampling, elicitation, roots and ping.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from pydantic import BaseModel, ValidationError

from .._core.jsonrpc import INTERNAL_ERROR, as_request_id
from .._core.levels import LogLevel, is_log_level, level_enabled
from ._content import SamplingMessage, dump
from ._errors import CapabilityNotNegotiated, McpError
from ._results import ElicitResult, Root, SamplingResult

if TYPE_CHECKING:
    from .._application import RequestContext, SessionContext
    from .._core.jsonrpc import RequestId
    from ._handler import McpSessionHandler
    from ._server import McpServer

__all__ = ["Context"]

IncludeContext = Literal["none", "thisServer", "allServers"]
_M = TypeVar("_M", bound=BaseModel)


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

    Args:
        handler: The session handler.
        request: The transport's context of the request being handled.
        meta: The request's ``params._meta`` object, if any.
    """

    def __init__(
        self,
        handler: McpSessionHandler,
        request: RequestContext,
        meta: Mapping[str, Any] | None = None,
    ) -> None:
        self._handler = handler
        self._request = request
        self._meta = dict(meta) if meta else {}

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
    def client_capabilities(self) -> dict[str, Any]:
        """The capabilities the client declared in ``initialize``."""
        return self._handler.client_capabilities

    @property
    def client_info(self) -> dict[str, Any]:
        """The ``clientInfo`` the client sent in ``initialize``."""
        return self._handler.client_info

    @property
    def log_level(self) -> LogLevel:
        """The session's current log level."""
        return self._handler.log_level

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
        if not level_enabled(level, self._handler.log_level):
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
        included; this needs an event store on the transport (``ServerConfig.event_store``).
        """
        self._request.close_sse_stream()

    # -- requests to the client ----------------------------------------------------------

    async def _ask(
        self, method: str, params: dict[str, Any] | None, capability: str | None
    ) -> dict[str, Any]:
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
        result = await self._ask("sampling/createMessage", params, "sampling")
        return _parse(SamplingResult, result, "sampling/createMessage")

    async def elicit(
        self, message: str, requested_schema: Mapping[str, Any] | type[BaseModel]
    ) -> ElicitResult:
        """Ask the user for input through the client (``elicitation/create``, form mode).

        Args:
            message: What to ask.
            requested_schema: A flat JSON Schema object of primitive properties, or a
                pydantic model whose schema is used.

        Returns:
            The user's action and, when accepted, the submitted values (not validated).

        Raises:
            CapabilityNotNegotiated: The client did not declare ``elicitation``.
            ClientRequestTimeout: No answer within ``client_request_timeout``.
            JsonRpcError: The client answered with an error.
            BackChannelUnavailable: The request cannot reach the client.
        """
        if isinstance(requested_schema, type):
            schema = requested_schema.model_json_schema()
        else:
            schema = dict(requested_schema)
        params = {"message": message, "requestedSchema": schema}
        result = await self._ask("elicitation/create", params, "elicitation")
        return _parse(ElicitResult, result, "elicitation/create")

    async def list_roots(self) -> list[Root]:
        """Ask the client for its roots (``roots/list``).

        Raises:
            CapabilityNotNegotiated: The client did not declare ``roots``.
            ClientRequestTimeout: No answer within ``client_request_timeout``.
            JsonRpcError: The client answered with an error.
            BackChannelUnavailable: The request cannot reach the client.
        """
        result = await self._ask("roots/list", None, "roots")
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
        await self._ask("ping", None, None)


def _parse(model: type[_M], value: Any, method: str) -> _M:
    try:
        return model.model_validate(value)
    except ValidationError as exc:
        raise McpError(INTERNAL_ERROR, f"invalid {method} result from the client: {exc}") from exc
