"""Business logic at run time: show, change and reset a channel's programming settings.

Changes are stored in the database (`programming_overrides`), over the config file's
settings, so the running programmer applies them at its next fill without a restart.
A change is validated against every channel it touches before anything is stored: a bad
key or value changes nothing and names the problem.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from sqlalchemy import delete

from vvtv.config import describe_validation_error, merge_programming, parse_overrides
from vvtv.errors import ConfigError
from vvtv.programming.candidates import ALL_CHANNELS, stored_overrides
from vvtv.runtime import Runtime
from vvtv.storage.models import Event, ProgrammingOverride


def show(rt: Runtime, channels: list[str]) -> dict[str, Any]:
    """Per channel: the effective programming settings and the run-time overrides among them."""
    result = {}
    with rt.db.session() as session:
        for name in channels:
            overrides = stored_overrides(session, name)
            try:
                effective = rt.settings.programming_for(name, *overrides)
                note = ""
            except ValidationError as exc:
                effective = rt.settings.programming_for(name)
                note = f"stored overrides ignored (no longer valid): {describe_validation_error(exc)}"
            merged: dict[str, Any] = {}
            for override in overrides:
                merged.update(override)
            result[name] = {"effective": effective.model_dump(mode="json"), "overrides": merged, "note": note}
    return result


def set_values(rt: Runtime, assignments: list[str], channel: str | None) -> dict[str, Any]:
    """Store `key=value` changes (keys under [programming], dotted) for one channel or all of them."""
    if not assignments:
        raise ConfigError("business-logic set: give at least one KEY=VALUE, e.g. exploration.epsilon=0.2")
    changes = _parse(assignments)
    target = rt.settings.channel(channel).name if channel else ALL_CHANNELS
    affected = [target] if channel else [c.name for c in rt.settings.channels]
    now = rt.clock.now_us()
    with rt.db.session() as session:
        row = session.get(ProgrammingOverride, target)
        proposed = {**(row.values if row else {}), **changes}
        for name in affected:
            layers = stored_overrides(session, name, proposed=(target, proposed))
            try:
                merge_programming(rt.settings.programming_for(name), *layers)
            except ValidationError as exc:
                raise ConfigError(f"business-logic set {' '.join(assignments)}: {describe_validation_error(exc)} "
                                  f"(channel {name}; nothing was changed)") from None  # fmt: skip
        if row is None:
            session.add(ProgrammingOverride(channel=target, values=proposed, updated_at_us=now))
        else:
            row.values = proposed
            row.updated_at_us = now
        session.add(Event(at_us=now, kind="business-logic-set", channel=channel,
                          message=f"programming changed for {channel or 'every channel'}: {', '.join(assignments)}",
                          data={"changes": changes}))  # fmt: skip
    return {"channel": channel or "all", "changed": changes, "effective": show(rt, affected)}


def reset(rt: Runtime, channel: str | None) -> dict[str, Any]:
    """Forget the run-time changes (of one channel, or all of them): the file's settings apply again."""
    now = rt.clock.now_us()
    with rt.db.session() as session:
        query = delete(ProgrammingOverride)
        if channel:
            query = query.where(ProgrammingOverride.channel == rt.settings.channel(channel).name)
        removed = session.execute(query).rowcount
        session.add(Event(at_us=now, kind="business-logic-reset", channel=channel,
                          message=f"programming back to the config file for {channel or 'every channel'}"))  # fmt: skip
    return {"channel": channel or "all", "removed_overrides": removed}


def _parse(assignments: list[str]) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    for assignment in assignments:
        key = assignment.partition("=")[0].removeprefix("programming.")
        parsed = parse_overrides([f"{key}={assignment.partition('=')[2]}"]) if "=" in assignment else None
        if not parsed or not key:
            raise ConfigError(f"business-logic set {assignment!r}: expected KEY=VALUE, e.g. temperature=0.4")
        node: Any = parsed
        for part in key.split("."):
            node = node[part]
        changes[key] = node
    return changes

