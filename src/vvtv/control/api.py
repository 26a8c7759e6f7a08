"""The control API on the origin: POST /api/control/<command> runs a control command.

For remote operators (`vvtvctl --url`): the same commands, validation and JSON as
`vvtvctl --json` on the channel's machine (control/commands.py). Every request needs
`Authorization: Bearer <control.token>`, compared in constant time; without a token
configured the API is off and says so. What viewers and monitoring read (the guide,
/healthz, /metrics) stays open: it is served elsewhere in the origin.

    GET  /api/control              the commands, with what each does
    POST /api/control/queue/show   {"channel": "main", "limit": 5} -> what `vvtvctl --json queue show` prints
"""

from __future__ import annotations

import hmac
import logging

from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from vvtv.control.commands import COMMANDS, ControlCommand, run_command
from vvtv.errors import VVTVError
from vvtv.runtime import Runtime

log = logging.getLogger(__name__)

CONTROL_OFF = (
    "the control API is off: set control.token (environment VVTV_CONTROL__TOKEN, 16 characters or more) "
    "where the origin runs, and restart it"
)
NO_STORE = {"Cache-Control": "no-store"}


def _commands() -> dict[str, ControlCommand]:
    # Imported on the first control request, not at start: an origin must listen as soon as it can.
    import vvtv.control.vvtvctl  # noqa: F401  (registers the commands)

    return COMMANDS


def control_routes(rt: Runtime) -> list[Route]:
    token = rt.settings.control.token
    expected = token.get_secret_value().encode() if token is not None else None
    if expected is None:
        log.info("origin: %s", CONTROL_OFF)

    def refusal(request: Request) -> Response | None:
        if expected is None:
            return JSONResponse({"error": CONTROL_OFF}, status_code=403, headers=NO_STORE)
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), expected):
            return JSONResponse(
                {"error": "a valid bearer token is required (Authorization: Bearer <control.token>)"},
                status_code=401, headers={**NO_STORE, "WWW-Authenticate": 'Bearer realm="vvtv-control"'},
            )  # fmt: skip
        return None

    async def index(request: Request) -> Response:
        refused = refusal(request)
        if refused is not None:
            return refused
        commands = await run_in_threadpool(_commands)
        listing = {name: {"path": f"/api/control/{c.path}", "help": c.help} for name, c in sorted(commands.items())}
        return JSONResponse(listing, headers=NO_STORE)

    async def command(request: Request) -> Response:
        refused = refusal(request)
        if refused is not None:
            return refused
        name = request.path_params["path"].strip("/").replace("/", ".")
        if name not in await run_in_threadpool(_commands):
            return JSONResponse({"error": f"no control command {name!r}"}, status_code=404, headers=NO_STORE)
        try:
            values = await request.json() if await request.body() else {}
        except ValueError:
            values = None
        if not isinstance(values, dict):
            return JSONResponse({"error": "the body must be a JSON object of parameters"}, status_code=400,
                                headers=NO_STORE)  # fmt: skip
        try:
            data = await run_in_threadpool(run_command, rt, name, values)
        except VVTVError as exc:
            if not exc.expected:
                log.exception("control command %s failed", name)
            return JSONResponse({"error": str(exc)}, status_code=400 if exc.expected else 500, headers=NO_STORE)
        except SQLAlchemyError as exc:
            log.warning("control command %s: database unavailable: %s", name, exc)
            return JSONResponse({"error": "the database is unavailable right now"}, status_code=503, headers=NO_STORE)
        log.info("control command %s %s from %s", name, values, request.client.host if request.client else "?")
        return JSONResponse(data, headers=NO_STORE)

    return [Route("/api/control", index), Route("/api/control/{path:path}", command, methods=["POST"])]
