"""The ``newsdigest`` entry point: parse, run the command, turn every failure into one line."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Sequence

from summarizer import SummarizerError

from ..config import ConfigError
from ..ingest.topics import KeywordError
from ..sources.fetch import FetchError
from ..store import StoreError
from .errors import EXIT_FAILURE, EXIT_USAGE, RuntimeFailure, UsageError
from .parser import build_parser
from .serve import quiet_libraries


def _exit_code(error: BaseException) -> int:
    """2 for what the caller gave (arguments, files, configuration), 1 for the rest."""
    if isinstance(error, FetchError):
        return EXIT_USAGE if error.kind == "bad_url" else EXIT_FAILURE
    usage = (UsageError, ConfigError, SummarizerError, KeywordError)
    return EXIT_USAGE if isinstance(error, usage) else EXIT_FAILURE


def _quiet_stdout() -> None:
    """The reader of our output went away (``| head``): stop writing, like other tools."""
    with contextlib.suppress(OSError):
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``newsdigest`` console script.

    Every failure is one line on standard error and an exit code: 2 for bad input
    (arguments, files, configuration), 1 for failures around the command (network, disk,
    Telegram). ``-v`` adds the details (tracebacks included) to the log.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    # PTB 22: durations such as RetryAfter.retry_after as timedelta, without deprecation noise.
    os.environ.setdefault("PTB_TIMEDELTA", "true")
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # Every Bot API URL contains the token: never let the HTTP client log URLs.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    quiet_libraries(args.verbose)
    try:
        code = int(args.func(args))
        sys.stdout.flush()
    except BrokenPipeError:
        _quiet_stdout()
        return 0
    except KeyboardInterrupt:
        return 130
    except (
        UsageError,
        RuntimeFailure,
        SummarizerError,
        FetchError,
        ConfigError,
        StoreError,
        KeywordError,
        OSError,
    ) as exc:
        print(f"newsdigest: {exc}", file=sys.stderr)
        return _exit_code(exc)
    except Exception as exc:  # a bug: one line for the operator, the traceback with -v
        logging.getLogger(__name__).debug("unexpected error", exc_info=True)
        print(
            f"newsdigest: unexpected error ({type(exc).__name__}: {exc}); run with -v for "
            "the details",
            file=sys.stderr,
        )
        return EXIT_FAILURE
    return code
