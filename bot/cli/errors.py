"""How the command line fails: one line on standard error and an exit code."""

from __future__ import annotations


class UsageError(Exception):
    """Bad input on the command line (arguments, files, configuration): exit code 2."""


class RuntimeFailure(Exception):
    """The input was fine but something around the command failed: exit code 1."""


EXIT_FAILURE = 1
EXIT_USAGE = 2
# Bounds of the numeric options (what a sensible call can ask for).
