"""Tokens of lavaan model syntax, each with its line and column.

The lexer knows nothing of models: it cuts text into identifiers, numbers, strings,
operators and punctuation, drops comments (``#`` or ``!`` to the end of a line) and keeps
the position of every token so that later errors can point at it.

Example
-------
>>> [t.value for t in tokenize("CI ~ a*IS  # comment")]
['CI', '~', 'a', '*', 'IS', '\\n']
>>> [t.value for t in tokenize("Eficácia =~ ef1")][:1]
['Eficácia']
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from connective.errors import ModelSyntaxError, SourceLocation

#: Operators of lavaan syntax, longest first so that ``~~`` is not read as two ``~``.
KNOWN_OPERATORS = ("~*~", "=~", "<~", "~~", ":=", "==", "~", "<", ">", "|")
#: Characters that make up operators; a run of them that is no known operator is reported.
_OPERATOR_CHARS = set("=~<>:|")

_NUMBER = re.compile(r"(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
#: names as R allows them: letters of any script (``Eficácia``, ``Identität``), digits, ``.``
#: and ``_``, not starting with a digit
_IDENT = re.compile(r"(?:[^\W\d]|\.)[\w.]*")
_PUNCT = {"+": "PLUS", "-": "MINUS", "*": "STAR", "/": "SLASH", "^": "CARET",
          "(": "LPAREN", ")": "RPAREN", ",": "COMMA", ";": "SEMI"}


@dataclass(frozen=True)
class Token:
    """One token: its kind (IDENT, NUMBER, STRING, OP, BADOP, NEWLINE or a punctuation name)."""

    kind: str
    value: str
    line: int
    column: int


class SourceText:
    """Model text with its name, able to make located errors."""

    def __init__(self, text: str, source: str = "<model>"):
        self.text = text
        self.source = source
        self.lines = text.split("\n")

    def locate(self, line: int, column: int) -> SourceLocation:
        return SourceLocation(self.source, line, column, self.lines[line - 1].rstrip("\r"))

    def error(self, message: str, at: Token | tuple[int, int], *, hint: str | None = None,
              cls: type[ModelSyntaxError] = ModelSyntaxError) -> ModelSyntaxError:
        line, column = (at.line, at.column) if isinstance(at, Token) else at
        return cls(message, self.locate(line, column), hint=hint)


def tokenize(text: str, source: str = "<model>") -> list[Token]:
    """Cut model text into tokens; raises :class:`ModelSyntaxError` on a stray character.

    Example
    -------
    >>> [t.kind for t in tokenize('y ~ prior("normal(0,1)")*x')]
    ['IDENT', 'OP', 'IDENT', 'LPAREN', 'STRING', 'RPAREN', 'STAR', 'IDENT', 'NEWLINE']
    """
    src = SourceText(text, source)
    tokens: list[Token] = []
    for lineno, raw in enumerate(src.lines, start=1):
        line = raw.rstrip("\r")
        i = 0
        while i < len(line):
            ch = line[i]
            col = i + 1
            if ch in " \t":
                i += 1
            elif ch in "#!":
                break
            elif ch in "\"'":
                end = line.find(ch, i + 1)
                if end < 0:
                    raise src.error("unterminated string", (lineno, col),
                                    hint=f"close the string with {ch}")
                tokens.append(Token("STRING", line[i + 1:end], lineno, col))
                i = end + 1
            elif m := _NUMBER.match(line, i):
                tokens.append(Token("NUMBER", m.group(), lineno, col))
                i = m.end()
            elif m := _IDENT.match(line, i):
                tokens.append(Token("IDENT", m.group(), lineno, col))
                i = m.end()
            elif line.startswith("~*~", i):
                tokens.append(Token("OP", "~*~", lineno, col))
                i += 3
            elif ch in _OPERATOR_CHARS or line.startswith("->", i):
                j = i + 1
                while j < len(line) and (line[j] in _OPERATOR_CHARS
                                         or (line[j] == "-" and line[j - 1] == "<")
                                         or (line[j] == ">" and line[j - 1] == "-")):
                    j += 1
                op = line[i:j]
                tokens.append(Token("OP" if op in KNOWN_OPERATORS else "BADOP", op, lineno, col))
                i = j
            elif ch in _PUNCT:
                tokens.append(Token(_PUNCT[ch], ch, lineno, col))
                i += 1
            elif ch == "%":
                raise src.error("the '%' operator (lavaan's group weights, 'group % w') is not "
                                "supported", (lineno, col),
                                hint="remove this line; respondents nested in groups are "
                                     "modelled with --group COLUMN (partial pooling)")
            else:
                raise src.error(f"unexpected character {ch!r}", (lineno, col))
        tokens.append(Token("NEWLINE", "\n", lineno, len(line) + 1))
    return tokens
