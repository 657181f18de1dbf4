"""Subcommands of the ``connective`` CLI, one module each (found by :mod:`connective.cli`).

A module defines ``register(subparsers)``, which adds a parser and sets ``run=func`` through
``set_defaults``; ``func(args)`` returns the exit status.
"""
