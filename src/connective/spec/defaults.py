"""lavaan's defaults of ``sem()`` and ``cfa()``, in one place, each under lavaan's own name.

lavaan adds to a model the parameters a user does not write (``lav_partable_flat``, lavaan
0.6-14; ``lavaanify(..., auto = TRUE)``). Each rule is switchable as in lavaan:

=================  =======  ================================================================
option             default  what it does
=================  =======  ================================================================
std.lv             FALSE    identify each factor by fixing its (residual) variance to 1
auto.fix.first     TRUE*    fix the first loading of each factor to 1 (*unless std.lv)
auto.fix.single    TRUE     a factor with one indicator: that item's residual variance is 0
auto.var           TRUE     (residual) variances of every variable are free
auto.cov.lv.x      TRUE     exogenous factors covary freely
auto.cov.y         TRUE     residual covariances among pure outcomes (regressed on something,
                            predicting nothing, no indicator) are free, latent or observed
orthogonal         FALSE    every default covariance between factors is fixed to 0
fixed.x            TRUE     exogenous observed covariates are conditioned on: their variances,
                            covariances and means are fixed at the sample values, not
                            parameters (as lavaan; they do not count as free parameters)
int.ov.free        TRUE*    observed variables' intercepts are free (*FALSE under growth)
int.lv.free        FALSE*   latent means are free (*TRUE under growth)
growth             FALSE    lavaan's ``growth()``: observed intercepts 0 and latent means free
                            (not a lavaan option: lavaan has the function)
=================  =======  ================================================================

As in lavaan 0.6, exogenous factors and exogenous observed covariates do not covary by
default (lavaan's ``auto.cov.x`` of 0.7 does not exist there); write ``F ~~ x`` to free it.

The options come from the model file or from the command line (which wins). In the model
file they sit in a comment, so the file stays valid lavaan syntax::

    # options: std.lv = TRUE, auto.cov.y = FALSE

Example
-------
>>> opts = options_from_text("# options: orthogonal = TRUE\\nF =~ a + b + c")
>>> opts.orthogonal, opts.fixed_first
(True, True)
>>> LavaanOptions(std_lv=True).fixed_first
False
>>> LavaanOptions(fixed_x=False).changed()
{'fixed.x': False}
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from connective.errors import ModelSpecError, SourceLocation

#: option name as lavaan writes it -> field name here
LAVAAN_NAMES = {"std.lv": "std_lv", "auto.fix.first": "auto_fix_first",
                "auto.fix.single": "auto_fix_single", "auto.var": "auto_var",
                "auto.cov.lv.x": "auto_cov_lv_x", "auto.cov.y": "auto_cov_y",
                "orthogonal": "orthogonal", "fixed.x": "fixed_x", "int.ov.free": "int_ov_free",
                "int.lv.free": "int_lv_free", "growth": "growth"}
_TRUE = {"true", "t", "yes", "1"}
_FALSE = {"false", "f", "no", "0"}
_HEADER = re.compile(r"^(\s*[#!]\s*options\s*:\s*)(.*)$", re.IGNORECASE)


@dataclass(frozen=True)
class LavaanOptions:
    """lavaan's model-building options (see the module docstring for each rule).

    ``auto_fix_first`` is ``None`` by default, meaning lavaan's rule: on unless ``std_lv``.
    """

    std_lv: bool = False
    auto_fix_first: bool | None = None
    auto_fix_single: bool = True
    auto_var: bool = True
    auto_cov_lv_x: bool = True
    auto_cov_y: bool = True
    orthogonal: bool = False
    fixed_x: bool = True
    int_ov_free: bool | None = None
    int_lv_free: bool | None = None
    growth: bool = False

    @property
    def fixed_first(self) -> bool:
        """Whether first loadings are fixed to 1 (lavaan: ``auto.fix.first = !std.lv``)."""
        return (not self.std_lv) if self.auto_fix_first is None else self.auto_fix_first

    @property
    def intercepts_free(self) -> bool:
        """Whether observed variables' intercepts are free (``int.ov.free``; not in growth)."""
        return (not self.growth) if self.int_ov_free is None else self.int_ov_free

    @property
    def latent_means_free(self) -> bool:
        """Whether latent means are free (``int.lv.free``; in growth models they are)."""
        return self.growth if self.int_lv_free is None else self.int_lv_free

    def changed(self) -> dict[str, bool]:
        """The options that differ from lavaan's defaults, by lavaan's names."""
        default = LavaanOptions()
        out = {}
        for lavaan_name, attr in LAVAAN_NAMES.items():
            value = getattr(self, attr)
            if value is not None and value != getattr(default, attr):
                out[lavaan_name] = value
        return out

    def merged(self, **overrides) -> "LavaanOptions":
        """A copy with the given fields replaced; ``None`` values leave a field as it is.

        Example
        -------
        >>> LavaanOptions(orthogonal=True).merged(std_lv=True, fixed_x=None).changed()
        {'std.lv': True, 'orthogonal': True}
        """
        return replace(self, **{k: v for k, v in overrides.items() if v is not None})

    def header(self) -> str:
        """The model-file comment that sets these options ('' when all are lavaan's).

        Example
        -------
        >>> LavaanOptions(std_lv=True, auto_cov_y=False).header()
        '# options: std.lv = TRUE, auto.cov.y = FALSE'
        """
        changed = self.changed()
        if not changed:
            return ""
        return "# options: " + ", ".join(f"{k} = {str(v).upper()}" for k, v in changed.items())

    def as_dict(self) -> dict[str, bool]:
        """Every option by lavaan's name (``auto.fix.first`` resolved), for run records."""
        out = {name: getattr(self, attr) for name, attr in LAVAAN_NAMES.items()}
        out["auto.fix.first"] = self.fixed_first
        out["int.ov.free"], out["int.lv.free"] = self.intercepts_free, self.latent_means_free
        return out


def parse_bool(text: str) -> bool | None:
    """``TRUE``/``FALSE`` as R, Python or a person writes it; None if it is neither.

    Example
    -------
    >>> parse_bool("FALSE"), parse_bool("yes"), parse_bool("maybe")
    (False, True, None)
    """
    t = text.strip().lower()
    return True if t in _TRUE else False if t in _FALSE else None


def options_from_text(text: str, source: str = "<model>") -> LavaanOptions:
    """The options set in a model text's ``# options:`` comments (lavaan's defaults else).

    Errors name the line and column of an unknown option or a value that is not TRUE/FALSE.

    Example
    -------
    >>> options_from_text("# options: std.lv = TRUE\\nF =~ a + b + c").std_lv
    True
    """
    values: dict[str, bool] = {}
    lines = text.split("\n")
    for lineno, line in enumerate(lines, start=1):
        m = _HEADER.match(line.rstrip("\r"))
        if not m:
            continue
        column = len(m.group(1)) + 1
        for part in m.group(2).split(","):
            offset = len(part) - len(part.lstrip())
            where = SourceLocation(source, lineno, column + offset, line.rstrip("\r"))
            if part.strip():
                name, _, value = part.partition("=")
                name = name.strip()
                if name not in LAVAAN_NAMES:
                    raise ModelSpecError(f"unknown option {name!r}", where,
                                         hint="options are " + ", ".join(LAVAAN_NAMES))
                flag = parse_bool(value)
                if flag is None:
                    raise ModelSpecError(f"option {name} takes TRUE or FALSE, not "
                                         f"{value.strip()!r}", where,
                                         hint=f"write e.g. '# options: {name} = TRUE'")
                values[LAVAAN_NAMES[name]] = flag
            column += len(part) + 1
    return LavaanOptions(**values)


def with_header(text: str, options: LavaanOptions) -> str:
    """The model text with its ``# options:`` comments replaced by one that sets ``options``
    (appended at the end, so that line numbers stay as they were).

    Example
    -------
    >>> print(with_header("# options: orthogonal = TRUE\\nF =~ a + b", LavaanOptions(std_lv=True)))
    # (options set below)
    F =~ a + b
    # options: std.lv = TRUE
    """
    lines = ["# (options set below)" if _HEADER.match(line.rstrip("\r")) else line
             for line in text.split("\n")]
    out = "\n".join(lines)
    header = options.header()
    if header:
        out = out.rstrip("\n") + "\n" + header
    return out


__all__ = ["LAVAAN_NAMES", "LavaanOptions", "options_from_text", "parse_bool", "with_header"]
