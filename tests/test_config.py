from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from click.testing import CliRunner

from agent.app.settings import SettingsError, load_settings
from agent.cli.main import cli


def test_bad_port_in_environment_fails_naming_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHOPDESK_PORT", "eighty")
    with pytest.raises(SettingsError) as excinfo:
        load_settings()
    assert "setting 'port'" in str(excinfo.value)
    assert "SHOPDESK_PORT" in str(excinfo.value)


def test_bad_clock_override_on_the_command_line_names_the_option() -> None:
    result = CliRunner().invoke(cli, ["--now", "yesterday-ish", "search", "returns"])
    assert result.exit_code == 2
    assert "setting 'now'" in result.output
    assert "--now" in result.output


def test_naive_clock_override_is_read_as_utc_and_lists_split_on_commas() -> None:
    settings = load_settings(now="2026-11-20T10:00:00", actions="shop.gift, ./more.py")
    assert settings.clock.pinned
    settings.clock.freeze()
    assert settings.clock().date() == date(2026, 11, 20)
    settings.clock.set(datetime(2026, 11, 20, 10, 0))
    assert settings.clock() == datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
    assert settings.actions == ["shop.gift", "./more.py"]


def test_default_database_is_sqlite_inside_the_data_directory(tmp_path) -> None:
    settings = load_settings(data=str(tmp_path))
    assert settings.resolved_database_url == f"sqlite:///{tmp_path / 'shopdesk.db'}"
