"""The ``newsdigest`` command line: one module per group of commands, the arguments in
``parser``, the entry point and its one-line failures in ``main``; ``chat`` is the bot in
the terminal, on the fake Bot API."""

from .main import main

__all__ = ["main"]
