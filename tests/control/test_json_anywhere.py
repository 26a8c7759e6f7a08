"""--json works where users type it: before or after the command's name, for every command of both CLIs."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import make_programme, tiny_settings
from livesystem import TINY_PROFILE

from vvtv import cli
from vvtv.clock import SystemClock
from vvtv.control import vvtvctl
from vvtv.programming.programmer import Programmer
from vvtv.runtime import Runtime

BIN = Path(sys.executable).parent


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    actions = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(actions[0].choices) if actions else {}


def _leaves(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], list[str]]]:
    """Every runnable command as (its words, the arguments it requires), found by walking the parser."""
    children = _subcommands(parser)
    if not children:
        required: list[str] = []
        for action in parser._actions:
            if not action.option_strings and action.nargs != 0:
                required.append(str(next(iter(action.choices))) if action.choices else "x")
            elif action.required:
                required += [action.option_strings[0], "x"]
        yield path, required
    for name, child in children.items():
        yield from _leaves(child, (*path, name))


@pytest.mark.parametrize("build", [cli.build_parser, vvtvctl.build_parser], ids=["vvtv", "vvtvctl"])
def test_every_command_takes_json_before_and_after_its_name(build) -> None:  # noqa: ANN001
    parser = build()
    commands = list(_leaves(parser))
    assert len(commands) >= 4
    for words, required in commands:
        line = [*words, *required]
        assert parser.parse_args(["--json", *line]).json is True, words
        assert parser.parse_args([*line, "--json"]).json is True, words
        assert parser.parse_args(line).json is False, words
        if len(words) > 1:  # and between the words of a nested command
            assert parser.parse_args([words[0], "--json", *line[1:]]).json is True, words


def _run(program: str, data_dir: Path, *args: str) -> subprocess.CompletedProcess:
    env = {
        "PATH": "/usr/bin:/bin",
        "VVTV_DATA_DIR": str(data_dir),
        "VVTV_PROFILES": json.dumps({"tiny": TINY_PROFILE}),
        "VVTV_CHANNELS": json.dumps([{"name": "main", "profile": "tiny"}]),
    }
    done = subprocess.run([str(BIN / program), *args], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done


@pytest.mark.parametrize(
    "program, words",
    [
        ("vvtvctl", ["status"]),
        ("vvtvctl", ["queue", "show"]),
        ("vvtvctl", ["streaming", "status"]),
        ("vvtv", ["config", "show"]),
    ],
)
def test_data_commands_print_the_same_json_either_way(tmp_path: Path, program: str, words: list[str]) -> None:
    rt = Runtime.open(tiny_settings(tmp_path / "var"), SystemClock())
    try:
        make_programme(rt, 5, title="Either way")
        Programmer(rt).fill("main")
    finally:
        rt.db.dispose()
    before = json.loads(_run(program, rt.settings.data_dir, "--json", *words).stdout)
    after = json.loads(_run(program, rt.settings.data_dir, *words, "--json").stdout)
    assert before.keys() == after.keys() and before
    text = _run(program, rt.settings.data_dir, *words).stdout
    with pytest.raises(json.JSONDecodeError):
        json.loads(text)  # without --json: the text for people
