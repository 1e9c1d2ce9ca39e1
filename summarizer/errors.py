"""Named errors raised by the summarizer library."""


class SummarizerError(ValueError):
    """The input cannot be summarized; the message says why in plain words."""


class UnknownMethodError(SummarizerError):
    """A summarization method name that is not registered."""
