"""Model language: lavaan syntax -> formulas -> parameter table -> :class:`ModelSpec`."""

from connective.spec.model import Interaction, ModelSpec, Pattern, parse_model, read_model

__all__ = ["Interaction", "ModelSpec", "Pattern", "parse_model", "read_model"]
