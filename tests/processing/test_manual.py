"""`vvtv process PATH_OR_URL`: one programme by hand, in the foreground, as a real command."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

import factory_media as media
from factory_support import make_runtime, write_config
from vvtv.errors import InputError
from vvtv.processing.factory import OPERATOR
from vvtv.processing.manual import process_now
from vvtv.storage.models import Asset, Plan, PlanStatus


def vvtv(config: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "vvtv.cli", *args], env={**os.environ, "VVTV_CONFIG": str(config)},
                          capture_output=True, text=True, timeout=300)  # fmt: skip


def test_process_prints_the_asset_and_shows_progress(tmp_path):  # noqa: ANN001
    source = media.pal_25(tmp_path / "holiday.mp4")
    config = write_config(tmp_path / "vvtv.toml", tmp_path / "var")

    done = vvtv(config, "process", str(source), "--json", "--title", "Holiday")

    assert done.returncode == 0, done.stderr
    made = json.loads(done.stdout)
    assert made["title"] == "Holiday" and made["asset_id"] == 1
    master = Path(made["master_playlist"])
    assert master.is_file() and "#EXT-X-STREAM-INF" in master.read_text()
    progress = [re.fullmatch(r"(\w+) +(\d+)%", line) for line in done.stderr.splitlines()]
    steps = [match.group(1) for match in progress if match]
    assert ["fetch", "analyse", "encode", "publish"] == list(dict.fromkeys(steps)), done.stderr
    assert "encode   100%" in done.stderr

    again = vvtv(config, "process", str(source))
    assert again.returncode == 2
    assert again.stderr.strip().splitlines()[-1] == f"vvtv: error: {source} was already made into asset 1"


def test_process_reports_a_bad_file_in_one_line(tmp_path):  # noqa: ANN001
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    config = write_config(tmp_path / "vvtv.toml", tmp_path / "var")
    done = vvtv(config, "process", str(empty))
    assert done.returncode == 2
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith(f"vvtv: error: {empty}: not made into an asset: ") and "not a readable media file" in last


def test_operator_may_retry_a_failed_source_once_fixed(make_runtime, tmp_path):  # noqa: ANN001
    source = tmp_path / "clip.mp4"
    source.write_text("a download that went wrong")
    rt = make_runtime()
    with pytest.raises(InputError, match="not a readable media file"):
        process_now(rt, str(source))
    media.pal_25(source)

    made = process_now(rt, str(source))

    with rt.db.session() as session:
        plan = session.scalars(select(Plan)).one()
        assert (plan.status, plan.judge, plan.page_url) == (PlanStatus.DONE, OPERATOR, str(source.resolve()))
        assert session.get(Asset, made.asset_id).plan_id == plan.id


def test_operator_urls_are_checked_like_any_other(make_runtime):  # noqa: ANN001
    rt = make_runtime(allowed_hosts=[])
    with pytest.raises(InputError, match="private address"):
        process_now(rt, "http://10.0.0.7/clip.mp4")
    with pytest.raises(InputError, match="no such file"):
        process_now(rt, "/nonexistent/clip.mp4")
    with rt.db.session() as session:
        assert session.scalars(select(Plan)).all() == [], "a refused target leaves no plan behind"


def test_a_running_factory_never_races_vvtv_process_for_its_plan(make_runtime, tmp_path):  # noqa: ANN001
    """The operator's plan is PROCESSING from the start: a Factory enqueuing approved plans meanwhile
    leaves it alone (it used to make a job first, and vvtv process failed on jobs.plan_id)."""
    from vvtv.processing import jobs
    from vvtv.processing.manual import _operator_plan

    rt = make_runtime()
    source = media.pal_25(tmp_path / "race.mp4")
    plan_id = _operator_plan(rt, str(source), channel="main", title="")
    assert jobs.enqueue_approved(rt.db, rt.clock, max_attempts=3) == 0
    with rt.db.session() as session:
        assert session.get(Plan, plan_id).status == PlanStatus.PROCESSING
