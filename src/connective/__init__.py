"""connective: Bayesian and PLS structural equation and mediation models of collective and
connective action, from one lavaan-style model file."""

__version__ = "0.1.0"
