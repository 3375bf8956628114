"""The README's example runs as written."""

from __future__ import annotations

import runpy
from pathlib import Path
from typing import TYPE_CHECKING

import trio

if TYPE_CHECKING:
    import pytest

EXAMPLES = Path(__file__).parents[2] / "examples"


async def test_weather_example_serves_and_calls_its_tool(
    capsys: pytest.CaptureFixture[str],
) -> None:
    namespace = runpy.run_path(str(EXAMPLES / "weather.py"))
    with trio.fail_after(20):
        await namespace["main"]()
    assert capsys.readouterr().out == "Sunny in Lisbon, 21 °C\n"
