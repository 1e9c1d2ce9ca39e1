"""The Telegram interface: the application composed in one place, its typed context, how
updates are scheduled, the handlers grouped by theme, and the process lifecycle."""
