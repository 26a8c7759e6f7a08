import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from vvtv.config import load_settings
from vvtv.errors import ConfigError


def test_layers_defaults_file_env_command_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "vvtv.toml"
    config.write_text('[origin]\nport = 9001\nhost = "127.0.0.2"\n[broadcaster]\nwindow_segments = 8\n')
    monkeypatch.setenv("VVTV_CONFIG", str(config))
    assert load_settings().origin.port == 9001
    monkeypatch.setenv("VVTV_ORIGIN__PORT", "9002")
    settings = load_settings()
    assert (settings.origin.port, settings.origin.host) == (9002, "127.0.0.2")
    settings = load_settings(["origin.port=9003"])
    assert settings.origin.port == 9003
    assert settings.broadcaster.window_segments == 8
    assert settings.broadcaster.horizon_minutes == 120


def test_bad_value_names_the_key_and_what_is_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VVTV_BROADCASTER__WINDOW_SEGMENTS", "1")
    with pytest.raises(ConfigError) as error:
        load_settings()
    assert "broadcaster.window_segments" in str(error.value)
    assert "greater than or equal to 3" in str(error.value)


@pytest.mark.parametrize(
    ("override", "words"),
    [
        ('channels=[{"name":"main","profile":"nope"}]', "not one of"),
        ("origin.default_channel=other", "origin.default_channel"),
        ('profiles={"x":{"renditions":[{"name":"a","width":641,"height":360,"video_kbps":800}]}}', "must be even"),
        ("no_such_section.key=1", "no_such_section"),
    ],
)
def test_inconsistent_settings_fail_at_start(override: str, words: str) -> None:
    with pytest.raises(ConfigError, match=words):
        load_settings([override])


def test_missing_config_file_is_named(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("VVTV_CONFIG", str(tmp_path / "absent.toml"))
    with pytest.raises(ConfigError, match="absent.toml"):
        load_settings()


def test_config_show_hides_the_rtmp_stream_key(capsys: pytest.CaptureFixture[str]) -> None:
    from vvtv.cli import main

    assert main(["--set", "broadcaster.rtmp_url=rtmp://127.0.0.1/app/live_9s3cr3tK3y", "config", "show", "--json"]) == 0
    shown = capsys.readouterr().out
    assert "live_9s3cr3tK3y" not in shown and "rtmp://127.0.0.1/app/***" in shown


def test_output_to_a_reader_that_went_away_is_not_an_error(tmp_path: Path) -> None:
    """`vvtv config show --json | head -1`: the reader leaves early; the command stops quietly, as cat would.
    Here the reader is gone before anything is written, so the write fails whatever the timing."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        done = subprocess.run([Path(sys.executable).parent / "vvtv", "config", "show", "--json"], cwd=tmp_path,
                              stdout=write_end, stderr=subprocess.PIPE, text=True, timeout=60,
                              env={k: v for k, v in os.environ.items() if not k.startswith("VVTV_")})  # fmt: skip
    finally:
        os.close(write_end)
    assert done.stderr == "", done.stderr
    assert done.returncode == 128 + signal.SIGPIPE
