"""The programming benchmark's parts, run at a tiny scale, produce their figures.

Structure only: a benchmark's speed is never asserted in a test.
"""

from __future__ import annotations

import numpy as np
from benchfiles import load_bench


def test_selection_timing_prints_its_figures_and_the_baseline_draws_the_same_kind_of_sample(capsys) -> None:  # noqa: ANN001
    bench = load_bench("programming")
    bench.time_selection(n=2000, k=5, repeats=20)
    out = capsys.readouterr().out
    assert "gumbel_top_k" in out and "sequential softmax draws (baseline)" in out and "ratio baseline" in out
    picks = bench.sequential_plackett_luce(np.array([0.0, 5.0, 1.0]), 3, 1.0, np.random.default_rng(0))
    assert sorted(picks) == [0, 1, 2]


def test_one_simulated_day_feeds_the_programmer_through_the_origins_viewer_statistics(capsys) -> None:  # noqa: ANN001
    bench = load_bench("programming")
    results = bench.simulate_week(1, 60, 3, policies=["scores+feedback"])
    assert list(results) == ["scores+feedback"] and 0 < results["scores+feedback"][1] <= 1
    out = capsys.readouterr().out
    requests = int(out.split("(")[1].split(" segment requests")[0].replace(",", ""))
    assert requests > 1000
    bench.print_week({"fifo": {1: 0.5}, "scores": {1: 0.55}, "scores+feedback": {1: 0.6}})
    assert "vs fifo on day 1: 1.20x" in capsys.readouterr().out
