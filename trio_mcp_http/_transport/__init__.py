"""The transport: HTTP in, sessions and SSE streams out, on trio and ASGI.

It serves any :class:`~trio_mcp_http.Application` (the contract in
:mod:`trio_mcp_http._application`) and uses only the sans-IO core besides trio.
"""
