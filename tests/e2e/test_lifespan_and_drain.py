"""The ASGI lifespan under the hypercorn CLI, and graceful drain over real sockets."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from functools import partial

import trio
import trio.testing

import trio_mcp_http
from tests.e2e.raw_http import request
from tests.e2e.test_hypercorn import POST_HEADERS
from tests.helpers import TinyApp, init_body, rpc
from trio_mcp_http import RunningServer, ServerConfig
from trio_mcp_http._core.sse import SSEDecoder


async def test_hypercorn_cli_runs_the_app_through_lifespan() -> None:
    command = [
        sys.executable,
        "-m",
        "hypercorn",
        "-k",
        "trio",
        "-b",
        "127.0.0.1:0",
        "tests.e2e.lifespan_app:app",
    ]
    with trio.fail_after(30):
        process = await trio.lowlevel.open_process(command, stderr=subprocess.PIPE)
        try:
            assert process.stderr is not None
            seen = b""
            while (match := re.search(rb"Running on http://127\.0\.0\.1:(\d+)", seen)) is None:
                chunk = await process.stderr.receive_some()
                assert chunk, seen.decode()
                seen += chunk
            url = f"http://127.0.0.1:{int(match.group(1))}/mcp"
            async with request(url, "POST", POST_HEADERS, init_body()) as response:
                assert response.status == 200
                assert response.headers["mcp-session-id"]
                body = await response.body()
            assert b'"protocolVersion":"2025-11-25"' in body
            process.terminate()
            assert await process.wait() == 0
        finally:
            process.kill()
            await process.wait()
            assert process.stderr is not None
            await process.stderr.aclose()


async def test_drain_finishes_in_flight_requests_and_refuses_new_sessions() -> None:
    with trio.fail_after(20):
        async with trio.open_nursery() as nursery:
            running: RunningServer = await nursery.start(
                partial(trio_mcp_http.serve, TinyApp(), ServerConfig(), grace=0.5)
            )
            async with request(running.url, "POST", POST_HEADERS, init_body()) as response:
                sid = response.headers["mcp-session-id"]
                await response.body()
            session = [*POST_HEADERS, ("mcp-session-id", sid)]
            quick = rpc("sleep", {"seconds": 0.2}, id="quick")
            slow = rpc("sleep", {"seconds": 60}, id="slow")
            async with (
                request(running.url, "POST", session, quick) as fast_call,
                request(running.url, "POST", session, slow) as slow_call,
            ):
                running.shutdown()
                await trio.testing.wait_all_tasks_blocked()  # the drain has begun
                async with request(running.url, "POST", POST_HEADERS, init_body()) as refused:
                    assert refused.status == 503
                    assert refused.headers["retry-after"] == "5"
                    await refused.body()
                # In-flight requests: the quick one finishes, the slow one is cut at the grace
                # deadline with an error response; both responses are complete (no truncation).
                fast_events = SSEDecoder().feed(await fast_call.body())
                slow_events = SSEDecoder().feed(await slow_call.body())
                assert fast_call.complete and slow_call.complete
        assert json.loads(fast_events[-1].data)["result"] == {"slept": 0.2}
        slow_answer = json.loads(slow_events[-1].data)
        assert (slow_answer["id"], slow_answer["error"]["code"]) == ("slow", -32800)
        assert running.statistics().sessions_closed == {"shutdown": 1}
