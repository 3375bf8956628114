"""Input-required results: how a handler asks the client for input in the per-request era.

Theory of operation
-------------------
In the handshake era a handler that needs the user (elicitation), the client's model
(sampling) or its roots sends a request to the client and waits. In the per-request era there
is no channel for that: the request is answered with an *input-required* result listing what it
needs (``inputRequests``, by key) and a sealed ``requestState``; the client gets the answers
and sends the same request again with them (``inputResponses``). The handler then runs again
from the start, and this time each ask finds its answer.

So the same handler code works in both eras: ``ctx.elicit(...)`` (``sample``, ``list_roots``,
``ask``) either waits for the client's answer (handshake era) or, in the per-request era,
returns the answer carried by the retry, or raises :class:`InputRequired` (caught by the
server, which answers input-required). Asks are keyed by their order in the run
(``elicit-1``, ``sample-2``, ...) unless a key is given; the answers of earlier rounds travel in
the sealed state, so a handler can ask across several rounds. A retry that lacks an answer is
asked again, never failed; answers nobody asked for are ignored.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .._core.jsonrpc import INVALID_PARAMS, JsonRpcError
from .._core.per_request import MISSING_CLIENT_CAPABILITY

__all__ = ["InputRequired", "InputRound", "MissingClientCapability", "input_responses_of"]

#: The client capability each kind of input request needs.
CAPABILITY_OF = {
    "elicitation/create": "elicitation",
    "sampling/createMessage": "sampling",
    "roots/list": "roots",
}


class InputRequired(Exception):
    """The handler needs input from the client before it can answer (per-request era).

    Raised by the context's asks; the server answers the request with an input-required
    result. A handler may raise it itself with requests it built.

    Args:
        requests: What is needed, by key: ``{"method": ..., "params": ...}`` each.
    """

    def __init__(self, requests: Mapping[str, Mapping[str, Any]]) -> None:
        super().__init__(", ".join(requests))
        self.requests = dict(requests)


class MissingClientCapability(JsonRpcError):
    """The request needs a capability the client did not declare (-32021; HTTP 400).

    Args:
        capabilities: The missing capabilities, as in a ``clientCapabilities`` object.
    """

    def __init__(self, capabilities: Mapping[str, Any]) -> None:
        names = ", ".join(capabilities)
        super().__init__(
            MISSING_CLIENT_CAPABILITY,
            f"Missing required client capability: {names}",
            {"requiredCapabilities": dict(capabilities)},
        )


def input_responses_of(params: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The ``inputResponses`` of a retry, checked: an object of objects (else -32602)."""
    if "inputResponses" not in params:
        return {}
    responses = params["inputResponses"]
    if not isinstance(responses, dict) or not all(isinstance(v, dict) for v in responses.values()):
        raise JsonRpcError(
            INVALID_PARAMS, "Invalid params: inputResponses must be an object of result objects"
        )
    return responses


class InputRound:
    """The answers one run of a handler can use, and what it asked that has none yet.

    Args:
        answers: The answers of earlier rounds (from the state) and of this retry.
        raw_state: The ``requestState`` the client sent, as it is.
    """

    __slots__ = ("_asked", "answers", "raw_state")

    def __init__(self, answers: Mapping[str, dict[str, Any]], raw_state: str | None = None) -> None:
        self.answers = dict(answers)
        self.raw_state = raw_state
        self._asked = 0

    def next_key(self, method: str) -> str:
        """The automatic key of the next ask: its kind and its place in the run."""
        self._asked += 1
        return f"{method.split('/', maxsplit=1)[0]}-{self._asked}"

    def gather(self, requests: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
        """The answers to ``requests``, all of them; else :class:`InputRequired` for the rest."""
        answers = self.answers
        missing = {key: dict(ask) for key, ask in requests.items() if key not in answers}
        if missing:
            raise InputRequired(missing)
        return {key: self.answers[key] for key in requests}
