"""``requestState``: what the server carries across the rounds of an input-required request.

The client holds it between rounds and sends it back, so it is attacker-controlled: it is
sealed with HMAC-SHA256 under the server's keys (the first one signs; every one verifies, so
keys can be rotated), and binds the answers gathered so far to the original request (a digest
of its method and params), to the principal that made it, and to an expiry. State that fails
any check is refused; it is never partly trusted.

Format: ``base64url(payload JSON) "." base64url(mac)``, no padding.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

__all__ = ["InvalidRequestState", "RequestStateSeal", "request_digest"]

_LEFT_OUT = frozenset({"_meta", "inputResponses", "requestState"})


class InvalidRequestState(Exception):
    """A ``requestState`` that does not verify, has expired, or belongs to another request."""


def request_digest(method: str, params: Mapping[str, Any]) -> str:
    """A digest of what a request asks, the same on every round of it.

    The params that change between rounds (``_meta``, ``inputResponses``, ``requestState``)
    are left out.
    """
    kept = {key: value for key, value in params.items() if key not in _LEFT_OUT}
    canonical = json.dumps([method, kept], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class RequestStateSeal:
    """Seals and opens ``requestState`` values.

    Args:
        keys: HMAC keys, newest first (at least 16 bytes each); ``None``: one random key for
            this process (state then does not survive a restart, nor cross to other workers).
        ttl: Seconds a state stays valid.
        clock: The wall clock (state crosses processes, so not trio's clock).
    """

    def __init__(
        self,
        keys: Sequence[bytes] | None = None,
        *,
        ttl: float = 600.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        chosen = tuple(keys) if keys is not None else (secrets.token_bytes(32),)
        if not chosen or any(len(key) < 16 for key in chosen):
            raise ValueError("request state keys must be at least 16 bytes each")
        if not ttl > 0:
            raise ValueError("the request state ttl must be positive")
        self._keys = chosen
        self.ttl = ttl
        self._clock = clock

    def seal(self, digest: str, principal: str | None, answers: Mapping[str, Any]) -> str:
        """A sealed state for one request (``digest``), its ``principal`` and ``answers``."""
        payload = {"d": digest, "p": principal, "e": self._clock() + self.ttl, "a": dict(answers)}
        body = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
        return _b64(body) + "." + _b64(hmac.digest(self._keys[0], body, "sha256"))

    def open(self, state: str, digest: str, principal: str | None) -> dict[str, Any]:
        """The answers a state carries, once every check passed.

        Raises:
            InvalidRequestState: It was tampered with, sealed by no key of ours, has expired,
                or belongs to another request or principal.
        """
        encoded, dot, mac_text = state.partition(".")
        try:
            body, mac = _unb64(encoded), _unb64(mac_text)
        except (binascii.Error, ValueError):
            raise InvalidRequestState("requestState integrity check failed") from None
        if not dot or not any(
            hmac.compare_digest(mac, hmac.digest(key, body, "sha256")) for key in self._keys
        ):
            raise InvalidRequestState("requestState integrity check failed")
        payload = json.loads(body)
        if payload.get("d") != digest or payload.get("p") != principal:
            raise InvalidRequestState("requestState belongs to another request")
        if not self._clock() < payload.get("e", 0):
            raise InvalidRequestState("requestState expired")
        answers = payload.get("a")
        return answers if isinstance(answers, dict) else {}
