"""gumbel_top_k samples the Plackett-Luce distribution of softmax(scores / T), exactly.

Checked by sampling with fixed seeds and comparing frequencies with the closed-form
probabilities, within 4.5 standard errors (a wrong distribution, e.g. scores not divided
by T, or the bottom k taken, is off by far more).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from vvtv.programming.selection import explore, gumbel_top_k

SCORES = [0.0, 1.0, 2.0, 0.5, -1.0]
T = 0.7
N = 40_000


def softmax(values: list[float], temperature: float) -> list[float]:
    weights = [math.exp(v / temperature) for v in values]
    return [w / sum(weights) for w in weights]


def within(observed: int, n: int, p: float) -> bool:
    return abs(observed / n - p) <= 4.5 * math.sqrt(p * (1 - p) / n) + 1e-12


def test_first_pick_follows_softmax() -> None:
    rng = np.random.default_rng(7)
    firsts = np.zeros(len(SCORES), dtype=int)
    for _ in range(N):
        firsts[gumbel_top_k(SCORES, 1, T, rng)[0]] += 1
    expected = softmax(SCORES, T)
    for i, p in enumerate(expected):
        assert within(firsts[i], N, p), (i, firsts[i] / N, p)


def test_second_pick_is_softmax_of_the_rest_and_pair_order_is_right() -> None:
    rng = np.random.default_rng(11)
    weights = [math.exp(s / T) for s in SCORES]
    after_best = np.zeros(len(SCORES), dtype=int)
    best_first = 0
    one_before_three = 0
    for _ in range(N):
        order = gumbel_top_k(SCORES, len(SCORES), T, rng)
        assert sorted(order) == list(range(len(SCORES)))  # a permutation: no repeats
        if order[0] == 2:
            best_first += 1
            after_best[order[1]] += 1
        one_before_three += order.index(1) < order.index(3)
    rest = sum(weights) - weights[2]
    for i in (0, 1, 3, 4):
        assert within(after_best[i], best_first, weights[i] / rest), (i, after_best[i] / best_first)
    # Under Plackett-Luce, i comes before j with probability w_i / (w_i + w_j).
    assert within(one_before_three, N, weights[1] / (weights[1] + weights[3]))


def test_temperature_sharpens_and_flattens() -> None:
    rng = np.random.default_rng(3)
    cold = sum(gumbel_top_k(SCORES, 1, 0.01, rng)[0] == 2 for _ in range(2000))
    hot = [gumbel_top_k(SCORES, 1, 1000.0, rng)[0] for _ in range(5000)]
    assert cold == 2000
    assert all(within(hot.count(i), 5000, 0.2) for i in range(len(SCORES)))


def test_ineligible_and_bad_input() -> None:
    rng = np.random.default_rng(1)
    scores = np.array([1.0, -np.inf, 0.5, -np.inf])
    for _ in range(200):
        assert sorted(gumbel_top_k(scores, 4, 1.0, rng)) == [0, 2]
    assert gumbel_top_k([], 3, 1.0, rng) == []
    assert len(gumbel_top_k(np.zeros(100_000), 50, 0.5, rng)) == 50
    with pytest.raises(ValueError, match="temperature"):
        gumbel_top_k([1.0], 1, 0.0, rng)
    with pytest.raises(ValueError, match="finite"):
        gumbel_top_k([float("nan")], 1, 1.0, rng)
    with pytest.raises(ValueError, match="k must not"):
        gumbel_top_k([1.0], -1, 1.0, rng)


def test_same_seed_same_picks() -> None:
    scores = np.random.default_rng(0).normal(size=1000)
    first = gumbel_top_k(scores, 10, 0.5, np.random.default_rng([4, 2]))
    assert first == gumbel_top_k(scores, 10, 0.5, np.random.default_rng([4, 2]))
    assert first != gumbel_top_k(scores, 10, 0.5, np.random.default_rng([4, 3]))


def test_exploration_goes_to_the_least_aired() -> None:
    rng = np.random.default_rng(5)
    airings = [9, 0, 4, 0, 7]
    picks, explored = explore([0, 4], airings, 1.0, rng)
    assert all(explored) and set(picks) <= {1, 3} and len(set(picks)) == 2
    picks, explored = explore([0, 4], airings, 0.0, rng)
    assert picks == [0, 4] and not any(explored)
    hits = sum(explore([0], airings, 0.15, rng)[1][0] for _ in range(20_000))
    assert within(hits, 20_000, 0.15)
