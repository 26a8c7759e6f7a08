"""Heartbeats written at the same moment by several processes of one role (factory workers on
several machines start together): each write lands, none raises. A first beat used to be a
read then an insert, so two workers starting at once both inserted and one died of it."""

from __future__ import annotations

import threading
from pathlib import Path

from sqlalchemy import select

from conftest import tiny_settings
from vvtv.runtime import Runtime
from vvtv.storage.db import Database
from vvtv.storage.models import Heartbeat

WRITERS = 6
ROLES = 15


def test_simultaneous_first_beats_of_one_role_all_land(database_url: str, tmp_path: Path) -> None:
    Database(database_url).migrate()
    # One Runtime (engine, connection pool) per writer, as separate processes would have.
    writers = [Runtime.open(tiny_settings(tmp_path / f"w{i}", storage={"url": database_url}), migrate=False)
               for i in range(WRITERS)]  # fmt: skip
    start = threading.Barrier(WRITERS)
    errors: list[BaseException] = []

    def beat_every_role(rt: Runtime, index: int) -> None:
        for role in range(ROLES):
            start.wait(timeout=30)
            try:
                rt.heartbeat(f"role-{role}", 1, writer=index)
            except Exception as exc:  # noqa: BLE001 - collected for the assertion
                errors.append(exc)

    threads = [threading.Thread(target=beat_every_role, args=(rt, i)) for i, rt in enumerate(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    try:
        assert not errors, f"{len(errors)} of {WRITERS * ROLES} beats failed, the first: {errors[0]!r}"
        with writers[0].db.session() as session:
            beats = session.scalars(select(Heartbeat)).all()
        assert sorted(b.role for b in beats) == sorted(f"role-{r}" for r in range(ROLES))
        assert all(b.data["writer"] in range(WRITERS) for b in beats)
    finally:
        for rt in writers:
            rt.db.dispose()
