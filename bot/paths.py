"""Where the bundled files live when running from a checkout (editable install)."""

from __future__ import annotations

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
BUNDLED_SEEDS = PROJECT_ROOT / "seeds"
BUNDLED_CONFIG = PROJECT_ROOT / "config" / "newsdigest.toml"
# The data file of the shipped configuration: also that of a file that does not name one.
DEFAULT_DATA_FILE = PROJECT_ROOT / "data" / "newsdigest.json"
# A real news article (2024), the one the project started from: what `newsdigest summarize`
# shows without arguments. Kept out of the sample articles, which are fiction and reach
# digests as news of the day.
SEED_ARTICLE = BUNDLED_SEEDS / "reference" / "000_74d3232a0b1618fd.txt"
