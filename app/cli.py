"""The ``crescent`` command: argument parsing, progress bars and one-line errors."""

from __future__ import annotations

import argparse
import os
import sys

from app import __version__
from app.commands import discover
from app.errors import CrescentError


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every discovered subcommand."""
    parser = argparse.ArgumentParser(
        prog="crescent",
        description="Crescent: an open digital breast tomosynthesis workstation.",
    )
    parser.add_argument("--version", action="version", version=f"crescent {__version__}")
    parser.add_argument(
        "--store", metavar="PATH", help="study store folder (default: $CRESCENT_HOME or the user data folder)"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for mod in discover():
        p = sub.add_parser(mod.NAME, help=mod.HELP, description=getattr(mod, "DESCRIPTION", mod.HELP))
        if hasattr(mod, "add_arguments"):
            mod.add_arguments(p)
        p.set_defaults(_run=mod.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point: parse, run, and turn user errors into one line on stderr."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "_run", None):
        parser.print_help()
        return 2
    try:
        return int(args._run(args) or 0)
    except CrescentError as exc:
        print(f"crescent {args.command}: error: {exc}", file=sys.stderr)
        return exc.exit_status
    except KeyboardInterrupt:
        print(f"crescent {args.command}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug: one line for the user, the traceback on request
        if os.environ.get("CRESCENT_DEBUG"):
            raise
        print(
            f"crescent {args.command}: internal error: {type(exc).__name__}: {exc} "
            "(set CRESCENT_DEBUG=1 for the traceback)",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":
    sys.exit(main())
