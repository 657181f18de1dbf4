"""Exception types for errors a user can fix.

Every error a user can cause (bad model text, bad data, bad options) derives from
:class:`ConnectiveError`; the CLI prints those as one paragraph without a traceback, and
anything else is a bug in connective.

Example
-------
>>> from connective.errors import ModelSyntaxError, SourceLocation
>>> loc = SourceLocation("m.lav", line=2, column=5, text="CID -> OCA")
>>> print(ModelSyntaxError("unknown operator '->'", loc, hint="write 'OCA ~ CID'"))
m.lav, line 2, column 5: unknown operator '->'
    2 | CID -> OCA
      |     ^
  write 'OCA ~ CID'
"""

from __future__ import annotations

from dataclasses import dataclass


class ConnectiveError(Exception):
    """Base class of all errors caused by user input (model text, data, options)."""


@dataclass(frozen=True)
class SourceLocation:
    """Where in a model text something stands: file name, 1-based line and column, line text."""

    source: str
    line: int
    column: int
    text: str

    def render(self) -> str:
        """The line with a caret under the column, as lavaan shows it."""
        gutter = f"{self.line:>5} | "
        caret = " " * (len(gutter) - 2) + "| " + " " * (self.column - 1) + "^"
        return f"{gutter}{self.text}\n{caret}"


class ModelSyntaxError(ConnectiveError):
    """Model text that cannot be read: names the file, line and column and shows the line."""

    def __init__(self, message: str, location: SourceLocation, *, hint: str | None = None):
        self.message = message
        self.location = location
        self.hint = hint
        super().__init__(str(self))

    def __str__(self) -> str:
        loc = self.location
        out = f"{loc.source}, line {loc.line}, column {loc.column}: {self.message}\n{loc.render()}"
        if self.hint:
            out += f"\n  {self.hint}"
        return out


class ModelSpecError(ModelSyntaxError):
    """Model text that reads but does not describe a model connective can estimate."""


class ModelError(ConnectiveError):
    """A problem with a model that has no single place in the model text."""


class DataError(ConnectiveError):
    """A survey file that cannot be read, or data that do not fit the model."""


class SimulationError(ConnectiveError):
    """Population values that cannot generate data (e.g. paths explaining > 100% of variance)."""


class RunFolderError(ConnectiveError):
    """An output folder that cannot be written, would be overwritten, is in use, or holds
    files of more than one run."""
