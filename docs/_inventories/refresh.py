"""Download the current intersphinx inventories into this directory (needs internet access)."""

import sys
import urllib.request
import zlib
from pathlib import Path

HERE = Path(__file__).resolve().parent
SOURCES = {
    "python.inv": "https://docs.python.org/3/objects.inv",
    "trio.inv": "https://trio.readthedocs.io/en/stable/objects.inv",
}


def fetch(url: str) -> bytes:
    """Download one inventory and check that it is one (a header, then zlib data)."""
    with urllib.request.urlopen(url, timeout=30) as response:
        data: bytes = response.read()
    header_end = 0
    for _ in range(4):  # four header lines, then the compressed body
        header_end = data.index(b"\n", header_end) + 1
    if not data.startswith(b"# Sphinx inventory version 2"):
        raise ValueError(f"{url} is not a Sphinx inventory")
    zlib.decompress(data[header_end:])
    return data


def main() -> int:
    """Replace every inventory, or none if one download fails."""
    fetched = {name: fetch(url) for name, url in SOURCES.items()}
    for name, data in fetched.items():
        (HERE / name).write_bytes(data)
        print(f"{name}: {len(data)} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
