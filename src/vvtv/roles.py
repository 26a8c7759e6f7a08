"""The roles that `vvtv run ROLE` and `vvtv up` start, each in a process of its own.

Each is imported only when its role starts, so a role's heavy dependencies
(a browser, torch) never slow the others down.
"""

from __future__ import annotations

from collections.abc import Callable

from vvtv.runtime import Runtime

Role = Callable[[Runtime], None]


def _programmer(rt: Runtime) -> None:
    from vvtv.programming.programmer import run

    run(rt)


def _broadcaster(rt: Runtime) -> None:
    from vvtv.broadcast.broadcaster import run

    run(rt)


def _restream(rt: Runtime) -> None:
    from vvtv.broadcast.restream import run

    run(rt)


def _origin(rt: Runtime) -> None:
    from vvtv.origin.app import run

    run(rt)


def _factory(rt: Runtime) -> None:
    from vvtv.processing.factory import run

    run(rt)


def _curator(rt: Runtime) -> None:
    from vvtv.discovery.curator import run

    run(rt)


def _demo_site(rt: Runtime) -> None:
    from vvtv.demo.site import run

    run(rt)


def _demo(rt: Runtime) -> None:
    from vvtv.demo.seed import run

    run(rt)


ROLES: dict[str, Role] = {
    "programmer": _programmer,
    "broadcaster": _broadcaster,
    "restream": _restream,
    "origin": _origin,
    "demo": _demo,
    "factory": _factory,
    "curator": _curator,
    "demo-site": _demo_site,
}
