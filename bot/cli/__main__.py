"""``python -m bot.cli``."""

from .main import main

raise SystemExit(main())
