"""Errors and warnings of the PLS engine, each naming the construct or column at fault.

All errors derive from :class:`~connective.errors.ConnectiveError` (data problems from
:class:`~connective.errors.DataError`, model problems from :class:`~connective.errors.ModelError`),
so the CLI prints them as one paragraph without a traceback.

Example
-------
>>> from connective.errors import ConnectiveError
>>> issubclass(CollinearBlockError, ConnectiveError)
True
>>> str(ZeroVarianceError("column 'x1' (construct F) has zero variance"))
"column 'x1' (construct F) has zero variance"
"""

from __future__ import annotations

from connective.errors import ConnectiveError, DataError, ModelError


class PLSDataError(DataError):
    """Data that the PLS algorithm cannot use."""


class MissingDataError(PLSDataError):
    """Missing values while no missing-data treatment (mean or casewise) was chosen."""


class ZeroVarianceError(PLSDataError):
    """An indicator that does not vary (it cannot be standardised)."""


class CollinearBlockError(PLSDataError):
    """A formative (mode B) block whose indicators are linearly dependent."""


class TooFewRowsError(PLSDataError):
    """Fewer rows than indicators in a block (or fewer than two rows at all)."""


class NonRecursiveModelError(ModelError):
    """An inner model with a feedback loop; PLS path modelling needs a recursive model."""


class PLSModelError(ModelError):
    """A model the PLS algorithm cannot estimate (e.g. a construct without paths)."""


class ConvergenceError(ConnectiveError):
    """The PLS weights did not converge within the allowed number of iterations."""


class InadmissibleWarning(UserWarning):
    """Consistent PLS gave an inadmissible solution (|correlation| > 1, loading > 1, ...)."""


class BootstrapWarning(UserWarning):
    """Some bootstrap replicates failed (did not converge or had a constant column)."""


__all__ = ["PLSDataError", "MissingDataError", "ZeroVarianceError", "CollinearBlockError",
           "TooFewRowsError", "NonRecursiveModelError", "PLSModelError", "ConvergenceError",
           "InadmissibleWarning", "BootstrapWarning"]
