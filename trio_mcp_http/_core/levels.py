"""MCP log levels (RFC 5424 severities), least severe first."""

from __future__ import annotations

from typing import Final, Literal, TypeAlias, get_args

__all__ = ["DEFAULT_LOG_LEVEL", "LOG_LEVELS", "LogLevel", "is_log_level", "level_enabled"]

LogLevel: TypeAlias = Literal[
    "debug", "info", "notice", "warning", "error", "critical", "alert", "emergency"
]
"""A log level name."""

LOG_LEVELS: Final[tuple[LogLevel, ...]] = get_args(LogLevel)
"""Every level, least severe first."""

DEFAULT_LOG_LEVEL: Final[LogLevel] = "info"
"""The level of a session until the client sends ``logging/setLevel``."""

_RANK: Final = {level: rank for rank, level in enumerate(LOG_LEVELS)}


def is_log_level(value: object) -> bool:
    """Whether ``value`` names a log level."""
    return isinstance(value, str) and value in _RANK


def level_enabled(level: LogLevel, threshold: LogLevel) -> bool:
    """Whether a message at ``level`` passes a session set to ``threshold``."""
    return _RANK[level] >= _RANK[threshold]
