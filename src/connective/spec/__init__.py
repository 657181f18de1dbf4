"""Model language: lavaan syntax -> formulas -> parameter table -> :class:`ModelSpec`."""

from connective.spec.model import ModelSpec, Pattern, parse_model, read_model

__all__ = ["ModelSpec", "Pattern", "parse_model", "read_model"]
