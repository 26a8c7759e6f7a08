"""`vvtv`: runs the system. `vvtv up` runs every role; `vvtv run ROLE` runs one."""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
from collections.abc import Callable

from vvtv.config import load_settings
from vvtv.errors import VVTVError
from vvtv.text import PrintableFormatter, printable, printable_stdout

SUPERVISED_ENV = "VVTV_SUPERVISED"


class CommandParser(argparse.ArgumentParser):
    """A parser where every command takes --json, before or after its name (`vvtvctl status --json`).

    Subcommand parsers are made with the parent's class (argparse's default parser_class), so a
    command added later gets --json without asking for it. The top-level parser sets the default
    (`set_defaults(json=False)`); below it the default is SUPPRESS, so a subcommand that was not
    given --json leaves the value given before its name alone.
    """

    def __init__(self, *args, **kwargs) -> None:  # noqa: ANN002, ANN003
        super().__init__(*args, **kwargs)
        super().add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="print JSON")

    def add_argument(self, *args, **kwargs) -> argparse.Action:  # noqa: ANN002, ANN003
        if "--json" in args:  # a command that declares --json itself gets the shared one
            return self._option_string_actions["--json"]
        return super().add_argument(*args, **kwargs)


def cmd_up(args: argparse.Namespace) -> None:
    from vvtv.origin.listener import start_early

    overrides = list(args.set)
    if args.roles is not None:
        roles = [r.strip() for r in args.roles.split(",") if r.strip()]
        overrides.append(f"supervisor.roles={json.dumps(roles)}")  # the roles run with it see the same list
    settings = load_settings(overrides)
    # Listening, and the origin starting, before the heavy imports: from here on a viewer waits in the
    # backlog instead of being refused, and the origin's start overlaps the supervisor's.
    early = None
    if "origin" in settings.supervisor.roles:
        env = {**os.environ, SUPERVISED_ENV: "1"}
        early = start_early(settings.origin.host, settings.origin.port, overrides, env=env)
    from vvtv.runtime import Runtime
    from vvtv.supervisor import up

    up(Runtime.open(settings, migrate=False), overrides, early=early)


def cmd_run(args: argparse.Namespace) -> None:
    from vvtv.roles import ROLES
    from vvtv.runtime import Runtime

    # Under `vvtv up` the supervisor has migrated already; skipping it starts a role sooner.
    rt = Runtime.open(load_settings(args.set), migrate=os.environ.get(SUPERVISED_ENV) != "1")
    rt.stop_on_signals()
    ROLES[args.role](rt)


def cmd_config_show(args: argparse.Namespace) -> None:
    settings = load_settings(args.set)
    data = settings.model_dump(mode="json")
    if settings.broadcaster.rtmp_url:  # its stream key is a secret, like control.token
        from vvtv.broadcast.restream import hide_secrets

        data["broadcaster"]["rtmp_url"] = hide_secrets(settings.broadcaster.rtmp_url, settings.broadcaster.rtmp_url)
    data["derived"] = {"database_url": settings.database_url, "media_dir": str(settings.media_dir)}
    if args.json:
        print(json.dumps(data, indent=2))
        return
    _print_tree(data)


def cmd_demo_site(args: argparse.Namespace) -> None:
    from vvtv.demo.site import serve

    settings = load_settings(args.set)
    port = settings.demo_site.port if args.port is None else args.port
    serve(host=args.host or settings.demo_site.host, port=port, cache_dir=settings.data_dir.resolve() / "demo-site")


def cmd_process(args: argparse.Namespace) -> None:
    from dataclasses import asdict

    from vvtv.processing.manual import process_now
    from vvtv.processing.progressbar import ProgressBar
    from vvtv.runtime import Runtime

    rt = Runtime.open(load_settings(args.set))
    rt.stop_on_signals()
    bar = ProgressBar()
    try:
        made = process_now(rt, args.target, channel=args.channel, title=args.title, listener=bar)
    finally:
        bar.close()
    if args.json:
        print(json.dumps({**asdict(made), "master_playlist": str(made.master_playlist)}, indent=2))
    else:
        print(f"asset {made.asset_id}: {made.master_playlist}")


def _print_tree(data: dict, prefix: str = "") -> None:
    for key, value in data.items():
        if isinstance(value, dict):
            _print_tree(value, f"{prefix}{key}.")
        else:
            print(f"{prefix}{key} = {json.dumps(value)}")


def build_parser() -> argparse.ArgumentParser:
    from vvtv.roles import ROLES

    parser = CommandParser(prog="vvtv", description="VVTV: an autonomous 24/7 television channel.")
    parser.set_defaults(json=False)
    parser.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                        help="override a setting (highest priority); repeatable")  # fmt: skip
    commands = parser.add_subparsers(dest="command", required=True)

    up = commands.add_parser("up", help="run every role under a supervisor that restarts them")
    up.add_argument("--roles", metavar="ROLE,...", help="run only these roles on this machine, e.g. factory or "
                    "broadcaster,origin (default: supervisor.roles)")  # fmt: skip
    up.set_defaults(func=cmd_up)

    run = commands.add_parser("run", help="run one role in the foreground")
    run.add_argument("role", choices=sorted(ROLES))
    run.set_defaults(func=cmd_run)

    demo_site = commands.add_parser("demo-site", help="serve the demo video website; prints its URL")
    demo_site.add_argument("--host", help="address to listen on (default: demo_site.host)")
    demo_site.add_argument("--port", type=int, help="port, 0 for any free one (default: demo_site.port)")
    demo_site.set_defaults(func=cmd_demo_site)

    process = commands.add_parser("process", help="make one programme from a local file or a URL, now")
    process.add_argument("target", metavar="PATH_OR_URL")
    process.add_argument("--channel", help="the channel whose profile to use (default: origin.default_channel)")
    process.add_argument("--title", default="", help="the programme's title (default: the file's or page's)")
    process.set_defaults(func=cmd_process)

    config = commands.add_parser("config", help="settings").add_subparsers(dest="config_command", required=True)
    show = config.add_parser("show", help="print the effective settings")
    show.set_defaults(func=cmd_config_show)
    return parser


def run_cli(parser: argparse.ArgumentParser, argv: list[str] | None) -> int:
    """Parse and dispatch; expected errors are one line on stderr and exit code 2."""
    args = parser.parse_args(argv)
    func: Callable[[argparse.Namespace], object] = args.func
    try:
        with printable_stdout():  # titles and messages come from web pages: no terminal escapes get through
            result = func(args)
            sys.stdout.flush()  # here, not at exit, so that a reader gone away is caught below
    except VVTVError as exc:
        if not exc.expected:
            raise
        print(f"{parser.prog}: error: {printable(str(exc))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (`| head`): stop quietly as cat does, with nothing left for exit to flush.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 128 + signal.SIGPIPE
    return result if isinstance(result, int) else 0


def main(argv: list[str] | None = None) -> int:
    log = logging.StreamHandler()
    log.setFormatter(PrintableFormatter("%(asctime)s %(name)s: %(message)s", datefmt="%H:%M:%S"))
    logging.basicConfig(level=logging.INFO, handlers=[log])
    return run_cli(build_parser(), argv)


if __name__ == "__main__":
    sys.exit(main())
