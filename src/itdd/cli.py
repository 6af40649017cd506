"""The ``itdd`` command line.

Each layer registers its own subcommands (``register(subparsers)`` in the modules listed in
:data:`COMMAND_MODULES`).  Every user error ends with exit code 2 and one line on stderr naming
the field and the problem; no traceback ever reaches the user.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from . import DISCLAIMER, __version__
from .errors import ItddError

COMMAND_MODULES = (
    "itdd.sim.cli",
    "itdd.programmer.cli",
    "itdd.care.cli",
    "itdd.trial.cli",
    "itdd.report.cli",
    "itdd.clinic.cli",
)

EXIT_USAGE = 2


class UsageError(Exception):
    pass


class Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line and exit code 2 (handled in :func:`main`)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(message)


def build_parser() -> Parser:
    parser = Parser(
        prog="itdd",
        description="Intrathecal targeted drug delivery in software. " + DISCLAIMER,
    )
    parser.add_argument("--version", action="version", version=f"itdd {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:
                continue
            raise
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if not getattr(args, "func", None):
            parser.print_help()
            return EXIT_USAGE
        return int(args.func(args) or 0)
    except UsageError as exc:
        print(f"itdd: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except ItddError as exc:
        print(f"itdd: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("itdd: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # a bug: say so in one line; ITDD_DEBUG=1 shows the traceback
        if os.environ.get("ITDD_DEBUG"):
            raise
        print(f"itdd: internal error ({type(exc).__name__}: {exc}); please report it", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
