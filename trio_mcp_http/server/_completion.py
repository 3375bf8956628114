"""Completion of prompt and resource-template arguments (``completion/complete``).

A completer is registered for one prompt (``"ref/prompt"``, by name) or one resource template
(``"ref/resource"``, by URI template) and is called as ``completer(argument, value, context)``
with the argument's name, the partial value typed so far, and the arguments already resolved
(``context.arguments`` of the request, 2025-06-18 and later). It returns the candidate values,
sync or async. At most 100 values are sent; ``total`` and ``hasMore`` tell the rest.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any, Final, Literal, TypeAlias

__all__ = ["MAX_COMPLETIONS", "Completer", "RefType", "complete", "completion_result"]

RefType: TypeAlias = Literal["ref/prompt", "ref/resource"]
"""What a completer completes the arguments of."""

Completer: TypeAlias = Callable[
    [str, str, Mapping[str, str]], Iterable[str] | Awaitable[Iterable[str]]
]
"""``completer(argument_name, partial_value, resolved_arguments) -> values``."""

MAX_COMPLETIONS: Final = 100
"""The most values one ``completion/complete`` result may carry (spec limit)."""


def completion_result(values: Iterable[str]) -> dict[str, Any]:
    """The ``completion/complete`` result for all candidate ``values``."""
    all_values = [str(v) for v in values]
    return {
        "completion": {
            "values": all_values[:MAX_COMPLETIONS],
            "total": len(all_values),
            "hasMore": len(all_values) > MAX_COMPLETIONS,
        }
    }


async def complete(
    completer: Completer | None, argument: str, value: str, resolved: Mapping[str, str]
) -> dict[str, Any]:
    """Run a completer (``None`` completes nothing) and shape its result."""
    if completer is None:
        return completion_result(())
    values = completer(argument, value, resolved)
    if inspect.isawaitable(values):
        values = await values
    return completion_result(values)
