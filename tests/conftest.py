"""Shared test settings."""

from __future__ import annotations

import os

# PTB 22 warns when RetryAfter.retry_after is read as a number unless this is set; the
# bot's CLI sets it too.
os.environ.setdefault("PTB_TIMEDELTA", "true")
