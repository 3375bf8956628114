"""The command line's flags map onto ServerConfig (the command itself runs in docs/examples)."""

from __future__ import annotations

import pytest

from trio_mcp_http import RedisEventStore, RedisSessionStore
from trio_mcp_http._cli import build_parser, config_from_args


def test_versions_flag_picks_the_revisions_served() -> None:
    args = build_parser().parse_args(["--versions", "2026-07-28"])
    config = config_from_args(args)
    assert config.served_versions == ("2026-07-28",)
    assert config.handshake_versions == ()
    assert config_from_args(build_parser().parse_args([])).versions is None


@pytest.mark.parametrize("bad", ["1999-01-01", ",", "2025-11-25,nope"])
def test_versions_flag_refuses_unknown_revisions(
    bad: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--versions", bad])
    assert "known revisions: 2025-03-26" in capsys.readouterr().err


def test_proxy_flags_set_the_session_prefix_and_the_client_address_header() -> None:
    args = build_parser().parse_args(
        ["--session-prefix", "w2-", "--client-address-header", "x-forwarded-for"]
    )
    config = config_from_args(args)
    assert config.session_id_prefix == "w2-"
    assert config.client_address_header == "x-forwarded-for"
    assert config_from_args(build_parser().parse_args([])).session_id_prefix == ""


def test_session_store_flag_saves_sessions_in_redis() -> None:
    url = "redis://10.0.0.5:6380/2"
    config = config_from_args(
        build_parser().parse_args(["--session-store", url, "--event-store", url])
    )
    assert isinstance(config.session_store, RedisSessionStore) and config.session_store.url == url
    assert isinstance(config.event_store, RedisEventStore) and config.event_store.url == url
    default = config_from_args(build_parser().parse_args([]))
    assert default.session_store is None and default.event_store is None


def test_the_command_tunes_the_garbage_collector_unless_told_not_to() -> None:
    assert build_parser().parse_args([]).tune_gc is True
    assert build_parser().parse_args(["--no-tune-gc"]).tune_gc is False
