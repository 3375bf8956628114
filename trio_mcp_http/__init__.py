"""trio_mcp_http: a trio-native Model Context Protocol Streamable HTTP transport.

Sessions are trio tasks whose idle deadline is a cancel scope, so abandoned sessions are
reclaimed without a DELETE, and long requests or open streams are never cut by it.
"""

from ._application import (
    Application,
    BackChannelUnavailable,
    ClientRequestTimeout,
    RequestContext,
    SessionContext,
    SessionHandler,
)
from ._core.auth import AccessToken, AuthConfig, TokenVerifier
from ._core.events import EventStore, MemoryEventStore, Replay, ReplayStatus
from ._core.jsonrpc import (
    ErrorObject,
    ErrorResponse,
    JsonRpcError,
    Message,
    Notification,
    Request,
    RequestId,
    Response,
)
from ._core.levels import LogLevel
from ._transport.app import McpApp
from ._transport.config import ServerConfig
from ._transport.gc_tuning import tune_gc
from ._transport.manager import SessionManager, Statistics
from ._transport.redis_event_store import RedisEventStore
from ._transport.redis_session_store import RedisSessionStore
from ._transport.serve import RunningServer, serve
from ._transport.session import CloseReason
from ._transport.session_store import MemorySessionStore, SessionRecord, SessionStore
from ._version import __version__

__all__ = [
    "AccessToken",
    "Application",
    "AuthConfig",
    "BackChannelUnavailable",
    "ClientRequestTimeout",
    "CloseReason",
    "ErrorObject",
    "ErrorResponse",
    "EventStore",
    "JsonRpcError",
    "LogLevel",
    "McpApp",
    "MemoryEventStore",
    "MemorySessionStore",
    "Message",
    "Notification",
    "RedisEventStore",
    "RedisSessionStore",
    "Replay",
    "ReplayStatus",
    "Request",
    "RequestContext",
    "RequestId",
    "Response",
    "RunningServer",
    "ServerConfig",
    "SessionContext",
    "SessionHandler",
    "SessionManager",
    "SessionRecord",
    "SessionStore",
    "Statistics",
    "TokenVerifier",
    "__version__",
    "serve",
    "tune_gc",
]
