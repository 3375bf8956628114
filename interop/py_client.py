"""Drive an MCP server with the official Python SDK client (PyPI ``mcp``); print a JSON report.

Used by tests/interop. Run with the interop venv's python (``interop/setup.sh`` makes it)::

    interop/.cache/venv/bin/python interop/py_client.py URL PLAN_JSON

PLAN_JSON is the same list of steps as for ``ts_client.mjs`` (``listTools``, ``callTool`` with
``name``/``arguments``/``progress``, ``setLoggingLevel``, ``ping``, ``readResource``, ``listen``
(2026-07-28 only), ``terminate``). The client
connects in the mode named by ``INTEROP_MODE`` (default the SDK's own default, ``auto``: it
first probes with a session-less ``server/discover`` POST at ``MCP-Protocol-Version:
2026-07-28`` and takes the 2026-07-28 wire when the server offers it, else falls back to
``initialize``). ``terminate`` leaves the client's context, which
sends DELETE for the session (``terminate_on_close``); it must be the last step.

The client declares sampling and elicitation: it answers ``sampling/createMessage`` with the
text ``sampled: <text of the last message>`` and accepts every elicitation with
``{"name": "interop"}`` (server-to-client requests in a session, input-required results on the
2026-07-28 wire). Every HTTP exchange is recorded. The script exits 0
once the plan ran (errors are reported per step) and 1 only if it could not run at all. Every
wait is bounded by ``INTEROP_STEP_TIMEOUT_S``.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

import anyio
import httpx2
from mcp import types
from mcp.client import Client, ClientRequestContext
from mcp.client.streamable_http import streamable_http_client

STEP_TIMEOUT_S = float(os.environ.get("INTEROP_STEP_TIMEOUT_S", "20"))
#: The client's era negotiation: "auto" (the SDK's default), "legacy" or "2026-07-28".
MODE = os.environ.get("INTEROP_MODE", "auto")


def _rpc_methods(body: bytes) -> list[str] | None:
    try:
        parsed = json.loads(body)
    except ValueError:
        return None
    messages = parsed if isinstance(parsed, list) else [parsed]
    out: list[str] = []
    for message in messages:
        if not isinstance(message, dict):
            out.append("?")
        elif "method" in message:
            out.append(str(message["method"]))
        else:
            out.append(f"response:{message.get('id')}")
    return out


class Recorder:
    """Collects what the client saw, for the JSON report."""

    def __init__(self) -> None:
        self.report: dict[str, Any] = {
            "client": "python-sdk",
            "http": [],
            "steps": [],
            "logging": [],
            "samplingRequests": [],
            "elicitations": [],
            "sessionId": None,
            "protocolVersion": None,
            "serverInfo": None,
            "serverCapabilities": None,
            "errors": [],
        }
        self._entries: dict[int, dict[str, Any]] = {}

    async def on_request(self, request: httpx2.Request) -> None:
        """Record an outgoing HTTP request (httpx2 event hook)."""
        body = request.content if request.method == "POST" else b""
        entry: dict[str, Any] = {
            "method": request.method,
            "rpc": _rpc_methods(body) if body else None,
            "requestProtocolVersion": request.headers.get("mcp-protocol-version"),
            "requestSessionId": request.headers.get("mcp-session-id"),
            "lastEventId": request.headers.get("last-event-id"),
            "status": None,
            "contentType": None,
            "sessionId": None,
        }
        self.report["http"].append(entry)
        self._entries[id(request)] = entry

    async def on_response(self, response: httpx2.Response) -> None:
        """Record the status and headers of a response (httpx2 event hook)."""
        entry = self._entries.pop(id(response.request), None)
        if entry is not None:
            entry["status"] = response.status_code
            entry["contentType"] = response.headers.get("content-type")
            entry["sessionId"] = response.headers.get("mcp-session-id")

    async def sampling(
        self, context: ClientRequestContext, params: types.CreateMessageRequestParams
    ) -> types.CreateMessageResult:
        """Answer sampling/createMessage with a canned reply that quotes the prompt."""
        self.report["samplingRequests"].append(
            params.model_dump(mode="json", by_alias=True, exclude_none=True)
        )
        text = ""
        if params.messages and isinstance(params.messages[-1].content, types.TextContent):
            text = params.messages[-1].content.text
        return types.CreateMessageResult(
            role="assistant",
            content=types.TextContent(type="text", text=f"sampled: {text}"),
            model="interop-test-model",
            stop_reason="endTurn",
        )

    async def elicitation(
        self, context: ClientRequestContext, params: types.ElicitRequestParams
    ) -> types.ElicitResult:
        """Answer elicitation/create by accepting, with ``name: interop`` in the content."""
        self.report["elicitations"].append(
            params.model_dump(mode="json", by_alias=True, exclude_none=True)
        )
        return types.ElicitResult(action="accept", content={"name": "interop"})

    async def logging(self, params: types.LoggingMessageNotificationParams) -> None:
        """Record a notifications/message."""
        self.report["logging"].append(
            params.model_dump(mode="json", by_alias=True, exclude_none=True)
        )


#: The notification behind each change event of ``Client.listen``.
_EVENT_METHODS = {
    "ToolsListChanged": "notifications/tools/list_changed",
    "PromptsListChanged": "notifications/prompts/list_changed",
    "ResourcesListChanged": "notifications/resources/list_changed",
    "ResourceUpdated": "notifications/resources/updated",
}


def _dump(value: Any) -> Any:
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json", by_alias=True, exclude_none=True)
    return value


async def _run_step(client: Client, step: dict[str, Any]) -> Any:
    op = step["op"]
    if op == "listTools":
        return _dump(await client.list_tools())
    if op == "callTool":
        updates: list[dict[str, Any]] = []

        async def on_progress(progress: float, total: float | None, message: str | None) -> None:
            updates.append({"progress": progress, "total": total, "message": message})

        # timeoutMs: give up early; the SDK then sends notifications/cancelled for the request.
        timeout = step["timeoutMs"] / 1000 if "timeoutMs" in step else STEP_TIMEOUT_S
        result = await client.call_tool(
            step["name"],
            step.get("arguments") or {},
            read_timeout_seconds=timeout,
            progress_callback=on_progress if step.get("progress") else None,
        )
        return {"result": _dump(result), "progress": updates}
    if op == "setLoggingLevel":
        return _dump(await client.set_logging_level(step["level"]))
    if op == "ping":
        return _dump(await client.session.send_ping())
    if op == "readResource":
        return _dump(await client.read_resource(step["uri"]))
    if op == "listen":
        # subscriptions/listen for tool and prompt list changes; call the trigger tool and
        # wait for the first change, then leave (which closes the stream).
        async with client.listen(tools_list_changed=True, prompts_list_changed=True) as sub:
            await client.call_tool(step["trigger"], {})
            async for event in sub:
                return {
                    "honoredFilter": _dump(sub.honored),
                    "notification": {"method": _EVENT_METHODS[type(event).__name__]},
                    "closed": "local",
                }
        raise RuntimeError("the listen stream ended before any change")
    raise ValueError(f"unknown op {op!r}")


async def run(url: str, plan: list[dict[str, Any]]) -> dict[str, Any]:
    """Connect, run ``plan`` and return the report."""
    recorder = Recorder()
    report = recorder.report
    terminate = bool(plan) and plan[-1]["op"] == "terminate"
    steps = plan[:-1] if terminate else plan
    http_client = httpx2.AsyncClient(
        timeout=httpx2.Timeout(STEP_TIMEOUT_S),
        event_hooks={"request": [recorder.on_request], "response": [recorder.on_response]},
    )
    try:
        with anyio.fail_after(STEP_TIMEOUT_S * (len(plan) + 2)):
            async with http_client:
                transport = streamable_http_client(
                    url, http_client=http_client, terminate_on_close=terminate
                )
                async with Client(
                    transport,
                    mode=MODE,  # type: ignore[arg-type]
                    sampling_callback=recorder.sampling,
                    elicitation_callback=recorder.elicitation,
                    logging_callback=recorder.logging,
                    read_timeout_seconds=STEP_TIMEOUT_S,
                    client_info=types.Implementation(
                        name="trio-mcp-http-interop-py", version="1.0.0"
                    ),
                ) as client:
                    report["protocolVersion"] = client.protocol_version
                    report["discovered"] = client.session.discover_result is not None
                    info = client.server_info
                    report["serverInfo"] = None if info is None else _dump(info)
                    report["serverCapabilities"] = _dump(client.server_capabilities)
                    sessions = [e["sessionId"] for e in report["http"] if e["sessionId"]]
                    report["sessionId"] = sessions[0] if sessions else None
                    for step in steps:
                        try:
                            with anyio.fail_after(STEP_TIMEOUT_S):
                                value = await _run_step(client, step)
                            report["steps"].append({"op": step["op"], "ok": True, "value": value})
                        except Exception as exc:  # reported, the plan goes on
                            report["steps"].append(
                                {"op": step["op"], "ok": False, "error": _describe(exc)}
                            )
            if terminate:
                deletes = [e for e in report["http"] if e["method"] == "DELETE"]
                # Without a session (stateless server) there is nothing to DELETE.
                ok = bool(deletes) or report["sessionId"] is None
                report["steps"].append({"op": "terminate", "ok": ok, "value": {"deletes": deletes}})
    except Exception as exc:
        report["errors"].append(_describe(exc)["message"])
    return report


def _describe(exc: BaseException) -> dict[str, Any]:
    if isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        return _describe(exc.exceptions[0])
    return {"message": f"{type(exc).__name__}: {exc}", "code": getattr(exc, "code", None)}


def main(argv: list[str]) -> int:
    """Run the plan given on the command line and print the report."""
    if len(argv) != 2:
        print("usage: py_client.py URL PLAN_JSON", file=sys.stderr)
        return 2
    report = anyio.run(run, argv[0], json.loads(argv[1]))
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
