"""One task parked until something wakes it, with no event object per wait.

The writer of an SSE stream and the reader of a bus subscription each wait, again and again,
for the next thing to send or read. A ``trio.Event`` per wait would leave garbage for the
collector's oldest generation on every long-lived stream; parking the task itself costs none.
"""

from __future__ import annotations

import trio

__all__ = ["ParkingSpot"]


class ParkingSpot:
    """A base class for objects one task waits on: :meth:`_park` it, :meth:`_wake` it."""

    __slots__ = ("_waiter",)

    def __init__(self) -> None:
        self._waiter: trio.lowlevel.Task | None = None

    @property
    def _parked(self) -> bool:
        """Whether a task is parked here."""
        return self._waiter is not None

    async def _park(self) -> None:
        """Park the current task until :meth:`_wake` (a cancel point)."""
        self._waiter = trio.lowlevel.current_task()
        await trio.lowlevel.wait_task_rescheduled(self._abort_park)

    def _abort_park(self, _: trio.lowlevel.RaiseCancelT) -> trio.lowlevel.Abort:
        self._waiter = None
        return trio.lowlevel.Abort.SUCCEEDED

    def _wake(self) -> None:
        """Reschedule the parked task, if there is one."""
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            trio.lowlevel.reschedule(waiter)
