"""Human-like input: curved mouse paths with an overshoot, dwelling clicks, uneven typing
with the odd corrected typo, and scrolling in uneven steps with pauses to read.

Everything random comes from one seeded `random.Random`, so a test can replay
the same gestures. `pacing` multiplies every delay: 1 is a person's pace, and
0 removes the waiting but keeps the shapes (paths, typos, uneven steps).
"""

from __future__ import annotations

import asyncio
import math
import random
import string
from collections.abc import Awaitable, Callable
from typing import Protocol

from vvtv.discovery.browser import Box

Point = tuple[float, float]
Sleep = Callable[[float], Awaitable[None]]

# Neighbouring keys on a QWERTY keyboard: the typo a finger actually makes.
ROWS = ["qwertyuiop", "asdfghjkl", "zxcvbnm"]
NEIGHBOURS = {
    ch: "".join(
        ROWS[r2][c2]
        for r2 in (r - 1, r, r + 1)
        for c2 in (c - 1, c, c + 1)
        if 0 <= r2 < len(ROWS) and 0 <= c2 < len(ROWS[r2]) and (r2, c2) != (r, c)
    )
    for r, row in enumerate(ROWS)
    for c, ch in enumerate(row)
}
TYPO_CHANCE = 0.06
KEYS_ON_A_US_KEYBOARD = set(string.ascii_letters + string.digits + string.punctuation + " ")


class InputSurface(Protocol):
    """What Human needs from a page (browser.BrowserPage provides it)."""

    @property
    def viewport(self) -> tuple[int, int]: ...
    async def mouse_move(self, x: float, y: float) -> None: ...
    async def mouse_down(self) -> None: ...
    async def mouse_up(self) -> None: ...
    async def wheel(self, delta_y: float) -> None: ...
    async def key_down(self, key: str) -> None: ...
    async def key_up(self, key: str) -> None: ...
    async def insert_text(self, text: str) -> None: ...


def _bezier(p0: Point, p1: Point, p2: Point, p3: Point, t: float) -> Point:
    u = 1 - t
    return (
        u**3 * p0[0] + 3 * u * u * t * p1[0] + 3 * u * t * t * p2[0] + t**3 * p3[0],
        u**3 * p0[1] + 3 * u * u * t * p1[1] + 3 * u * t * t * p2[1] + t**3 * p3[1],
    )


def _ease(t: float) -> float:
    # Minimum-jerk profile: slow start, fast middle, slow landing, like a reaching hand.
    return t * t * t * (10 - 15 * t + 6 * t * t)


class Human:
    def __init__(self, page: InputSurface, rng: random.Random, *, pacing: float, sleep: Sleep = asyncio.sleep) -> None:
        self.page = page
        self.rng = rng
        self.pacing = pacing
        self._sleep = sleep
        width, height = page.viewport
        self.position: Point = (rng.uniform(0.2, 0.8) * width, rng.uniform(0.2, 0.8) * height)

    async def pause(self, low: float, high: float) -> None:
        if self.pacing > 0:
            await self._sleep(self.rng.uniform(low, high) * self.pacing)

    def path(self, start: Point, end: Point) -> list[Point]:
        """A curved path from start to a point just past end, then back onto end."""
        dx, dy = end[0] - start[0], end[1] - start[1]
        distance = math.hypot(dx, dy)
        if distance < 2:
            return [end]
        normal = (-dy / distance, dx / distance)
        bend = distance * self.rng.uniform(0.12, 0.3) * self.rng.choice((-1, 1))
        c1 = (start[0] + dx * 0.3 + normal[0] * bend, start[1] + dy * 0.3 + normal[1] * bend)
        c2 = (start[0] + dx * 0.7 + normal[0] * bend * 0.6, start[1] + dy * 0.7 + normal[1] * bend * 0.6)
        overshoot = min(max(distance * self.rng.uniform(0.03, 0.07), 3.0), 18.0)
        past = (end[0] + dx / distance * overshoot, end[1] + dy / distance * overshoot)
        steps = int(min(max(distance / 14, 14), 60))
        points = [_bezier(start, c1, c2, past, _ease(i / steps)) for i in range(1, steps + 1)]
        back = self.rng.randint(3, 5)  # a small correction back onto the target
        points += [(past[0] + (end[0] - past[0]) * i / back, past[1] + (end[1] - past[1]) * i / back)
                   for i in range(1, back + 1)]  # fmt: skip
        # A hand is never perfectly steady: a fraction of a pixel of tremor.
        return [(x + self.rng.uniform(-0.4, 0.4), y + self.rng.uniform(-0.4, 0.4)) for x, y in points[:-1]] + [end]

    async def move_to(self, x: float, y: float) -> None:
        for point in self.path(self.position, (x, y)):
            await self.page.mouse_move(*point)
            self.position = point
            await self.pause(0.004, 0.016)

    async def click(self, box: Box) -> None:
        """Move to a natural spot inside the box (not its exact centre), hover, press, dwell, release."""
        x = box.x + box.width * self.rng.uniform(0.3, 0.7)
        y = box.y + box.height * self.rng.uniform(0.3, 0.7)
        await self.move_to(x, y)
        await self.pause(0.08, 0.3)
        await self.page.mouse_down()
        await self.pause(0.05, 0.14)
        await self.page.mouse_up()

    async def press(self, key: str) -> None:
        await self.page.key_down(key)
        await self.pause(0.03, 0.09)
        await self.page.key_up(key)

    async def _key_gap(self, after: str) -> None:
        # Uneven rhythm: quick within words, slower after a space, now and then a hesitation.
        low, high = (0.12, 0.35) if after == " " else (0.05, 0.2)
        if self.rng.random() < 0.08:
            low, high = 0.3, 0.7
        await self.pause(low, high)

    async def type_text(self, text: str) -> None:
        for char in text:
            lower = char.lower()
            if lower in NEIGHBOURS and self.rng.random() < TYPO_CHANCE:
                wrong = self.rng.choice(NEIGHBOURS[lower])
                await self.press(wrong.upper() if char.isupper() else wrong)
                await self.pause(0.15, 0.45)  # notice the mistake
                await self.press("Backspace")
                await self._key_gap(wrong)
            if char in KEYS_ON_A_US_KEYBOARD:
                await self.press(char)
            else:
                await self.page.insert_text(char)
            await self._key_gap(char)

    async def scroll(self, total: float) -> None:
        """Scroll by about `total` pixels (negative: up) in uneven wheel steps, pausing to read."""
        done, sign = 0.0, 1 if total >= 0 else -1
        while abs(done) < abs(total):
            step = sign * min(self.rng.uniform(60, 190), abs(total) - abs(done))
            await self.page.wheel(step)
            done += step
            await self.pause(0.03, 0.12)
            if self.rng.random() < 0.25:
                await self.pause(0.4, 1.4)  # reading

    async def glance(self) -> None:
        """A moment on a new page before acting: the eyes find their way first."""
        await self.pause(0.4, 1.2)
