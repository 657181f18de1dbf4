"""Comparisons: Bayes vs PLS on the same data, and models by LOO."""
