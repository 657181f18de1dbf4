"""The ``connective`` command line: a thin layer over the library.

Each subcommand lives in its own module under :mod:`connective.commands` with a
``register(subparsers)`` function that adds its parser and sets ``run``; modules there are
found automatically. User errors (:class:`~connective.errors.ConnectiveError`) are printed as
one paragraph with exit status 2, never as a traceback.

Example
-------
>>> main(["validate", "--help"])  # doctest: +SKIP
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

from connective import __version__
from connective import commands as _commands
from connective.errors import ConnectiveError

#: order in which subcommands are listed in --help; others follow alphabetically
_ORDER = ("demo", "validate", "simulate", "pls", "fit", "compare", "loo", "report", "study")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="connective",
        description="Bayesian and PLS structural equation and mediation models of collective "
                    "and connective action, from one lavaan-style model file.")
    parser.add_argument("--version", action="version", version=f"connective {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    names = [m.name for m in pkgutil.iter_modules(_commands.__path__) if not m.name.startswith("_")]
    names.sort(key=lambda n: (_ORDER.index(n) if n in _ORDER else len(_ORDER), n))
    for name in names:
        importlib.import_module(f"connective.commands.{name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except ConnectiveError as exc:
        print(f"connective {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"connective {args.command}: interrupted; no partial results were written",
              file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
