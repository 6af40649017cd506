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
from typing import Any

from .. import DISCLAIMER, __version__
from ..errors import ItddError

COMMAND_MODULES = (
    "itdd.cli.simulate",
    "itdd.cli.programmer",
    "itdd.cli.cohort",
    "itdd.cli.trial",
    "itdd.cli.report",
    "itdd.cli.clinic",
)

EXIT_USAGE = 2

# Commands that need an optional extra (``pip install 'itdd[EXTRA]'``): module -> (extra, its commands).
# Without the extra the command is still listed, and running it says in one line how to install it.
OPTIONAL_COMMANDS = {
    "itdd.cli.clinic": ("clinic", ("serve",)),
}
# Third-party modules that come only with an extra, for the one-line message when one is missing.
EXTRA_OF_MODULE = {
    "fastapi": "clinic",
    "starlette": "clinic",
    "uvicorn": "clinic",
    "sqlalchemy": "clinic",
    "alembic": "clinic",
    "multipart": "clinic",
    "python_multipart": "clinic",
    "argon2": "clinic",
    "psycopg": "postgres",
    "psycopg_binary": "postgres",
}


class UsageError(Exception):
    pass


class MissingExtra(UsageError):
    def __init__(self, command: str, extra: str, missing: str) -> None:
        super().__init__(
            f"'itdd {command}' needs the {extra} extra ({missing} is not installed): pip install 'itdd[{extra}]'"
        )


class Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line and exit code 2 (handled in :func:`main`).

    ``missing_extra=(command, extra, module)`` makes a stand-in for a command whose optional
    dependencies are not installed: it accepts any arguments and only says how to install them.
    """

    def __init__(self, *args: Any, missing_extra: tuple[str, str, str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.missing_extra = missing_extra

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(message)

    def parse_known_args(  # type: ignore[override]
        self, args: Any = None, namespace: Any = None
    ) -> tuple[argparse.Namespace, list[str]]:
        if self.missing_extra is None:
            return super().parse_known_args(args, namespace)
        command, extra, missing = self.missing_extra

        def refuse(_: argparse.Namespace) -> int:
            raise MissingExtra(command, extra, missing)

        return argparse.Namespace(func=refuse), []


def install_hint(exc: ModuleNotFoundError) -> str | None:
    """The extra that provides the missing module, if it is one of ours."""
    top = (exc.name or "").partition(".")[0]
    return EXTRA_OF_MODULE.get(top)


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
            if name in OPTIONAL_COMMANDS and not (exc.name or "").startswith("itdd"):
                extra, commands = OPTIONAL_COMMANDS[name]
                for command in commands:
                    sub.add_parser(
                        command,
                        help=f"(needs: pip install 'itdd[{extra}]')",
                        missing_extra=(command, extra, str(exc.name)),
                    )
                continue
            raise
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    try:
        parser = build_parser()
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
        if isinstance(exc, ModuleNotFoundError) and (extra := install_hint(exc)) is not None:
            # e.g. a PostgreSQL database URL without the postgres extra
            print(
                f"itdd: error: this needs the {extra} extra ({exc.name} is not installed): pip install 'itdd[{extra}]'",
                file=sys.stderr,
            )
            return EXIT_USAGE
        print(f"itdd: internal error ({type(exc).__name__}: {exc}); please report it", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
