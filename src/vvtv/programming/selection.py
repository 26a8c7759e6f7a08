"""Choosing programmes at random, weighted by score: Gumbel-top-k and epsilon exploration.

Gumbel-top-k (Kool, van Hoof & Welling, "Stochastic Beams and Where to Find Them", 2019):
add independent Gumbel(0, 1) noise to each log-weight score_i / T and take the k largest.
The result is an ordered sample without replacement from the Plackett-Luce distribution
of softmax(score / T): the first pick is i with probability softmax_i, the second is drawn
the same way from the rest, and so on. One vectorised pass, no loop over the k picks.

The temperature T sets how much the scores matter: small T airs almost always the best,
large T nearly uniformly.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def gumbel_top_k(
    scores: Sequence[float] | np.ndarray, k: int, temperature: float, rng: np.random.Generator
) -> list[int]:
    """Indices of k candidates sampled without replacement, highest key first.

    A score of -inf marks a candidate that must not be picked; fewer than k are returned
    when fewer are eligible.
    """
    if temperature <= 0 or not np.isfinite(temperature):
        raise ValueError(f"temperature must be a positive number, got {temperature!r}")
    if k < 0:
        raise ValueError(f"k must not be negative, got {k!r}")
    values = np.asarray(scores, dtype=np.float64)
    if values.ndim != 1:
        raise ValueError(f"scores must be one-dimensional, got shape {values.shape}")
    if np.isnan(values).any() or np.isposinf(values).any():
        raise ValueError("scores must be finite numbers (or -inf for a candidate that may not be picked)")
    eligible = int(np.isfinite(values).sum())
    k = min(k, eligible)
    if k == 0:
        return []
    keys = values / temperature + rng.gumbel(size=values.shape[0])
    if k < values.shape[0]:
        top = np.argpartition(-keys, k - 1)[:k]
    else:
        top = np.arange(values.shape[0])
    return [int(i) for i in top[np.argsort(-keys[top], kind="stable")]]


def explore(
    picks: list[int], airings: Sequence[int], epsilon: float, rng: np.random.Generator
) -> tuple[list[int], list[bool]]:
    """With probability epsilon, each pick is replaced by a uniform choice among the candidates
    (all eligible) that have aired least and are not already picked, so new content gets a chance.

    Returns the picks and, for each, whether it was an exploration pick.
    """
    if not 0 <= epsilon <= 1:
        raise ValueError(f"epsilon must be between 0 and 1, got {epsilon!r}")
    result: list[int] = []
    explored: list[bool] = []
    taken = set(picks)
    for pick in picks:
        if rng.random() < epsilon:
            free = [i for i in range(len(airings)) if i not in taken]
            if free:
                least = min(airings[i] for i in free)
                choice = int(rng.choice([i for i in free if airings[i] == least]))
                taken.discard(pick)
                taken.add(choice)
                result.append(choice)
                explored.append(True)
                continue
        result.append(pick)
        explored.append(False)
    return result, explored
