"""Human-like input: the shapes of paths, clicks, typing and scrolling, replayable from a seed."""

from __future__ import annotations

import asyncio
import math
import random
from dataclasses import dataclass, field

from vvtv.discovery.browser import Box
from vvtv.discovery.human import Human


@dataclass
class Recorder:
    """Records the input Human sends (the browser side is tested against real Chromium elsewhere)."""

    viewport: tuple[int, int] = (1280, 800)
    calls: list[tuple] = field(default_factory=list)

    async def mouse_move(self, x: float, y: float) -> None:
        self.calls.append(("move", x, y))

    async def mouse_down(self) -> None:
        self.calls.append(("down",))

    async def mouse_up(self) -> None:
        self.calls.append(("up",))

    async def wheel(self, delta_y: float) -> None:
        self.calls.append(("wheel", delta_y))

    async def key_down(self, key: str) -> None:
        self.calls.append(("key_down", key))

    async def key_up(self, key: str) -> None:
        self.calls.append(("key_up", key))

    async def insert_text(self, text: str) -> None:
        self.calls.append(("insert", text))


def human(seed: int, pacing: float = 0.0, sleeps: list | None = None) -> tuple[Human, Recorder]:
    recorder = Recorder()

    async def sleep(seconds: float) -> None:
        if sleeps is not None:
            sleeps.append(seconds)

    return Human(recorder, random.Random(seed), pacing=pacing, sleep=sleep), recorder


def test_a_path_curves_overshoots_and_lands_on_the_target() -> None:
    person, _ = human(3)
    start, end = (100.0, 100.0), (700.0, 400.0)
    path = person.path(start, end)
    assert path[-1] == end and len(path) >= 20
    length = math.dist(start, end)
    ux, uy = (end[0] - start[0]) / length, (end[1] - start[1]) / length
    along = [(x - start[0]) * ux + (y - start[1]) * uy for x, y in path]
    across = [abs((x - start[0]) * uy - (y - start[1]) * ux) for x, y in path]
    assert max(across) > 0.05 * length  # curved, not a straight line
    assert max(along) > length + 2  # went a little past the target ...
    assert along.index(max(along)) < len(path) - 1  # ... and came back
    steps = [math.dist(a, b) for a, b in zip(path, path[1:-4])]
    assert max(steps) > 3 * min(steps)  # speed varies: slow start, fast middle, slow landing


def test_the_same_seed_replays_the_same_gestures() -> None:
    async def gestures(seed: int) -> list[tuple]:
        person, recorder = human(seed)
        await person.click(Box(x=300, y=200, width=120, height=30))
        await person.type_text("calm music")
        await person.scroll(600)
        return recorder.calls

    assert asyncio.run(gestures(7)) == asyncio.run(gestures(7))
    assert asyncio.run(gestures(7)) != asyncio.run(gestures(8))


def test_a_click_lands_inside_the_box_after_a_hover_and_dwells() -> None:
    sleeps: list[float] = []
    person, recorder = human(1, pacing=1.0, sleeps=sleeps)
    box = Box(x=300, y=200, width=120, height=30)
    asyncio.run(person.click(box))
    *moves, down, up = recorder.calls
    assert (down, up) == (("down",), ("up",))
    _, x, y = moves[-1]
    assert box.x < x < box.x + box.width and box.y < y < box.y + box.height
    assert 0.05 <= sleeps[-1] <= 0.14  # the press lasted a human moment


def test_typing_has_uneven_gaps_and_corrects_its_typos() -> None:
    sleeps: list[float] = []
    person, recorder = human(11, pacing=1.0, sleeps=sleeps)
    text = "the quick brown fox jumps over the lazy dog near the river bank"
    asyncio.run(person.type_text(text))
    typed: list[str] = []
    for call in recorder.calls:
        if call[0] == "key_down":
            if call[1] == "Backspace":
                typed.pop()
            else:
                typed.append(call[1])
    assert "".join(typed) == text
    assert ("key_down", "Backspace") in recorder.calls  # at least one typo, corrected
    assert max(sleeps) > 3 * min(sleeps)


def test_characters_outside_the_keyboard_are_inserted() -> None:
    person, recorder = human(2)
    asyncio.run(person.type_text("café"))
    assert ("insert", "é") in recorder.calls


def test_scrolling_comes_in_uneven_steps_with_reading_pauses() -> None:
    sleeps: list[float] = []
    person, recorder = human(5, pacing=1.0, sleeps=sleeps)
    asyncio.run(person.scroll(1500))
    steps = [c[1] for c in recorder.calls if c[0] == "wheel"]
    assert sum(steps) == 1500
    assert len(set(round(s) for s in steps)) > len(steps) // 2
    assert max(sleeps) >= 0.4  # stopped to read at least once


def test_pacing_zero_waits_for_nothing_but_keeps_the_shapes() -> None:
    sleeps: list[float] = []
    person, recorder = human(5, pacing=0.0, sleeps=sleeps)
    asyncio.run(person.click(Box(x=10, y=10, width=50, height=20)))
    assert sleeps == [] and len([c for c in recorder.calls if c[0] == "move"]) >= 14
