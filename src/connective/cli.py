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
import re
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


def join_negative_lists(argv: list[str]) -> list[str]:
    """``--missing-codes -99,-98`` -> ``--missing-codes=-99,-98``: argparse would read a
    comma list that starts with a minus as an option of its own.

    >>> join_negative_lists(["--missing-codes", "-99,-98", "--seed", "-3"])
    ['--missing-codes=-99,-98', '--seed', '-3']
    """
    out: list[str] = []
    for token in argv:
        if (out and out[-1].startswith("--") and "=" not in out[-1]
                and re.fullmatch(r"-\d[^,]*(,.*)+", token)):
            out[-1] = f"{out[-1]}={token}"
        else:
            out.append(token)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(join_negative_lists(sys.argv[1:] if argv is None else argv))
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
