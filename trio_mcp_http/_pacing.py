"""Pacing of notification sends: a cancel point every time, a schedule point now and then.

Sending a notification never blocks (it is queued for the stream's writer), so a full trio
checkpoint per send only serves fairness. Yielding on every send, though, hands each queued
frame to its writer before the next one is queued: one ASGI ``send()`` per notification.
Yielding once every :data:`SENDS_PER_YIELD` sends lets a burst of notifications raised together
reach each stream's queue together, and its writer sends them in one chunk.
"""

from __future__ import annotations

from typing import Final

import trio

__all__ = ["SENDS_PER_YIELD", "paced_checkpoint"]

#: Sends from one sender between two schedule points.
SENDS_PER_YIELD: Final = 64


async def paced_checkpoint(sends: int) -> int:
    """A cancel point always; a schedule point every :data:`SENDS_PER_YIELD` sends.

    Args:
        sends: The sender's sends since it last yielded (its own counter).

    Returns:
        The counter's new value, which the sender keeps.
    """
    if sends + 1 >= SENDS_PER_YIELD:
        await trio.lowlevel.checkpoint()
        return 0
    await trio.lowlevel.checkpoint_if_cancelled()
    return sends + 1
