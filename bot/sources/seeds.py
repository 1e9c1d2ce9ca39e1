"""The bundled sample articles (``seeds/``): fiction for offline trials, read from files."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from summarizer import Article, SummarizerError, parse_file

from .feeds import SourceError

logger = logging.getLogger(__name__)

SEED_SUFFIXES = frozenset({".txt", ".html", ".htm"})


def seeds_problem(folder: Path | None) -> str | None:
    """Why there are no sample articles to read (``sources.seeds_dir`` unset, missing or
    not a folder), or None when the folder is there."""
    if folder is None:
        return "no seeds folder is configured (sources.seeds_dir)"
    if not folder.is_dir():
        what = "is not a folder" if folder.exists() else "does not exist"
        return f"the seeds folder {folder} (sources.seeds_dir) {what}"
    return None


def load_seed_folder(
    path: str | Path, *, on_error: Callable[[Path, str], None] | None = None
) -> list[tuple[Path, Article]]:
    """Parse every article file in a folder, in name order.

    A file that cannot be parsed is logged (and passed to ``on_error``) and skipped; only
    a missing folder raises ``SourceError``.
    """
    folder = Path(path)
    if not folder.is_dir():
        raise SourceError(f"the seeds folder {folder} does not exist")
    loaded: list[tuple[Path, Article]] = []
    for file in sorted(folder.iterdir()):
        if file.name.startswith(".") or file.suffix.lower() not in SEED_SUFFIXES:
            continue
        if not file.is_file():
            continue
        try:
            article = parse_file(file)
        except SummarizerError as exc:
            logger.warning("skipping seed %s: %s", file, exc)
            if on_error is not None:
                on_error(file, str(exc))
            continue
        loaded.append((file, article))
    return loaded
