"""The sans-IO core: what the transport, the server layer and the client all share.

Pure functions and plain data only: JSON-RPC messages (:mod:`.jsonrpc`), Server-Sent Events
(:mod:`.sse`), HTTP header rules (:mod:`.headers`), the protocol revisions and what each one
has (:mod:`.versions`), the table of rejections (:mod:`.rejections`), resumable-stream event
ids and stores (:mod:`.events`), bearer-token authorization (:mod:`.auth`) and log levels
(:mod:`.levels`).

Rule: nothing here imports trio, hypercorn, h11, sockets or any other package of
``trio_mcp_http`` (``tests/test_layers.py`` enforces it), so every function can be tested with
plain values and Hypothesis, and any I/O layer can drive it.
"""
