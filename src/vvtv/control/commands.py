"""The control commands, in one registry that `vvtvctl` and the origin's control API share.

A command is a name (`streaming.emergency`), a pydantic model of what it takes, and a
function of (runtime, parameters) returning the JSON-ready dict that `vvtvctl --json`
prints. `vvtvctl` runs it in its own process, or with `--url` asks an origin to run it
(POST /api/control/<name with / for .>, the parameters as JSON): the same validation
and the same JSON either way. A new command is exposed to both by one `register()`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from vvtv.errors import InputError
from vvtv.runtime import Runtime


class Params(BaseModel):
    """Parameters of a command; unknown names are refused rather than ignored."""

    model_config = ConfigDict(extra="forbid")


@dataclass(frozen=True, kw_only=True)
class ControlCommand:
    name: str  # dotted, as the command line says it: "queue.show"
    params: type[Params]
    run: Callable[[Runtime, Any], dict]
    help: str

    @property
    def path(self) -> str:
        return self.name.replace(".", "/")


COMMANDS: dict[str, ControlCommand] = {}


def register(command: ControlCommand) -> ControlCommand:
    if command.name in COMMANDS:
        raise ValueError(f"control command {command.name!r} is registered twice")
    COMMANDS[command.name] = command
    return command


def parse_params(command: ControlCommand, values: dict[str, Any]) -> Params:
    """The command's parameters, or an InputError naming each bad one."""
    try:
        return command.params.model_validate(values)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in error['loc']) or 'parameters'}: {error['msg']}" for error in exc.errors()
        )
        raise InputError(f"{command.name}: {problems}") from None


def run_command(rt: Runtime, name: str, values: dict[str, Any]) -> dict:
    command = COMMANDS.get(name)
    if command is None:
        raise InputError(f"no control command {name!r}; there are {sorted(COMMANDS)}")
    return command.run(rt, parse_params(command, values))
