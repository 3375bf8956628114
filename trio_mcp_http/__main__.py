"""``python -m trio_mcp_http``: the same as the ``trio-mcp-http`` command."""

from ._cli import main

main()
