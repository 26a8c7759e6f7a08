"""`vvtvctl business-logic show|set|reset`: validated, stored, applied by a running programmer."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest
from catalogue import catalogue_asset
from conftest import tiny_settings
from sqlalchemy import func, select

from vvtv.clock import US, FakeClock
from vvtv.control import vvtvctl
from vvtv.programming import programmer
from vvtv.runtime import Runtime
from vvtv.storage.models import Event, ProgrammingOverride, ScheduleEntry


def ctl(data_dir: Path, *args: str) -> tuple[int, str]:
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        code = vvtvctl.main(["--set", f"data_dir={data_dir}", "--set", 'profiles={"tiny": {}}', "--set",
                             'channels=[{"name": "main", "profile": "tiny"}, {"name": "two", "profile": "tiny"}]', *args])
    return code, out.getvalue()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "var"


def test_show_set_reset(data_dir: Path) -> None:
    code, out = ctl(data_dir, "business-logic", "show")
    assert code == 0 and "Channel main: strategy scored, temperature 0.3, top_k 3, epsilon 0.15" in out
    assert "daypart prime" in out and "config file only" in out
    code, out = ctl(data_dir, "business-logic", "set", "exploration.epsilon=0.3", "weights.audience=4",
                    "--channel", "two")  # fmt: skip
    assert code == 0, out
    code, out = ctl(data_dir, "--json", "business-logic", "show")
    shown = json.loads(out)
    assert shown["two"]["effective"]["exploration"]["epsilon"] == 0.3
    assert shown["two"]["effective"]["weights"]["audience"] == 4
    assert shown["main"]["effective"]["exploration"]["epsilon"] == 0.15
    assert shown["two"]["overrides"] == {"exploration.epsilon": 0.3, "weights.audience": 4}
    code, _ = ctl(data_dir, "business-logic", "set", "temperature=0.8")  # every channel
    shown = json.loads(ctl(data_dir, "--json", "business-logic", "show")[1])
    assert shown["main"]["effective"]["temperature"] == shown["two"]["effective"]["temperature"] == 0.8
    code, out = ctl(data_dir, "business-logic", "reset", "--channel", "two")
    assert code == 0 and "1 stored" in out
    shown = json.loads(ctl(data_dir, "--json", "business-logic", "show")[1])
    assert shown["two"]["effective"]["exploration"]["epsilon"] == 0.15 and shown["two"]["effective"]["temperature"] == 0.8
    assert ctl(data_dir, "business-logic", "reset")[0] == 0
    assert json.loads(ctl(data_dir, "--json", "business-logic", "show")[1])["main"]["overrides"] == {}


@pytest.mark.parametrize("assignment, message", [
    ("exploration.epsilon=2", "exploration.epsilon: Input should be less than or equal to 1"),
    ("weights.audiance=1", "weights.audiance: Extra inputs are not permitted"),
    ("temperature=hot", "temperature: Input should be a valid number"),
    ("top_k", "expected KEY=VALUE"),
    ("dayparts=[{\"name\": \"x\", \"start_hour\": 30, \"end_hour\": 2}]", "start_hour"),
])  # fmt: skip
def test_a_bad_key_or_value_is_refused_and_changes_nothing(data_dir: Path, assignment: str, message: str) -> None:
    code, out = ctl(data_dir, "business-logic", "set", "temperature=0.5", assignment)
    assert code == 2 and message in out, out
    rt = Runtime.open(tiny_settings(data_dir))  # the same database the command used
    with rt.db.session() as session:
        assert session.scalar(select(func.count()).select_from(ProgrammingOverride)) == 0
    rt.db.dispose()


def test_a_running_programmer_picks_a_change_up_at_its_next_fill(tmp_path: Path) -> None:
    clock = FakeClock()
    settings = tiny_settings(tmp_path / "var", programming={"min_repeat_hours": 0},
                             broadcaster={"slate_seconds": 8, "horizon_minutes": 10, "poll_seconds": 0.2})
    rt = Runtime.open(settings, clock)
    with rt.db.session() as session:
        for i in range(8):
            catalogue_asset(session, title=f"Clip {i}", tags=["art"], seconds=60, ready_at_us=clock.now_us())
    role = threading.Thread(target=programmer.run, args=(rt,), daemon=True)
    role.start()
    try:
        first_weights = wait_for_entry(rt, lambda e: True)["components"]["audience"]["weight"]
        assert first_weights == 2.0
        from vvtv.programming import business

        business.set_values(rt, ["weights.audience=0.25"], None)
        clock.advance(6 * 60)  # past half the planned span: the role fills again
        changed = wait_for_entry(rt, lambda e: e.created_at_us >= clock.now_us())
        assert changed["components"]["audience"]["weight"] == 0.25
    finally:
        rt.stop.set()
        role.join(timeout=30)
    with rt.db.session() as session:
        assert session.scalars(select(Event).where(Event.kind == "business-logic-set")).one().data == {
            "changes": {"weights.audience": 0.25}}
    rt.db.dispose()


def wait_for_entry(rt: Runtime, wanted, timeout: float = 30) -> dict:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with rt.db.session() as session:
            rows = session.scalars(select(ScheduleEntry).order_by(ScheduleEntry.ordinal.desc())).all()
            for row in rows:
                if row.score and wanted(row):
                    return row.score
        time.sleep(0.2)
    raise AssertionError("no such entry was planned in time")


def test_the_readme_programming_example_is_valid(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import re

    readme = (Path(__file__).parents[2] / "README.md").read_text()
    example = re.search(r"```toml\n(\[programming\].*?)```", readme, re.S)[1]
    config = tmp_path / "vvtv.toml"
    config.write_text(example)
    monkeypatch.setenv("VVTV_CONFIG", str(config))
    from vvtv.config import load_settings

    loaded = load_settings(data_dir=tmp_path / "var")
    music = loaded.programming_for("music")
    assert (music.temperature, music.weights.audience, music.weights.quality) == (0.5, 3.0, 0.5)
    assert [d.name for d in loaded.programming_for("main").dayparts] == ["morning", "prime"]
