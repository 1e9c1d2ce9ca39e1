"""The bot's languages: every text it sends is a deferred message, translated per chat.

A message is written once, in English, as ``_("Time zone set to {zone}.", zone=name)``
(``_n`` for plurals) and becomes a :class:`Text`: the English original and its values,
translated only when it is sent, into the language of the chat it goes to. That lets the
rules (``bot.services``) raise errors meant for users without knowing who reads them.

Texts are Telegram HTML: a message's own tags are part of what translators translate, and
every value put into a placeholder is escaped, unless it is :class:`Html` (already
rendered) or another :class:`Text`. Numbers are written as the language writes them
(``20,000`` / ``20.000``), and :class:`Items` joins a list as the language joins one.

The catalogs are gettext ``.po`` files in ``bot/locales``, kept with Babel (see the README,
"Languages"). They are compiled in memory the first time a language is used: there is no
build step and no compiled file that could fall out of step with the ``.po`` it came from.
``str()`` of a :class:`Text` is the English text: what logs and exceptions show.
"""

from __future__ import annotations

import functools
import gettext
import html
import io
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from babel import Locale
from babel.lists import format_list
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from babel.support import Translations

LOCALES_DIR = Path(__file__).resolve().parent / "locales"
DOMAIN = "messages"
DEFAULT_LANGUAGE = "en"

# The languages the bot speaks, by code, with the name each gives itself.
LANGUAGES: Mapping[str, str] = {
    "en": "English",
    "de": "Deutsch",
    "es": "Español",
    "fr": "Français",
    "it": "Italiano",
    "pt": "Português",
    "ru": "Русский",
    "uk": "Українська",
}

_CODE = re.compile(r"^([a-zA-Z]{2,3})(?:[-_][a-zA-Z0-9]{1,8})*$")


def supported(code: str | None) -> str | None:
    """The shipped language for a Telegram ``language_code`` ("pt-br" -> "pt"), or None."""
    if not code:
        return None
    match = _CODE.match(code.strip())
    if match is None:
        return None
    language = match.group(1).lower()
    return language if language in LANGUAGES else None


def is_language_code(value: str) -> bool:
    """True for text shaped like a language code (what the store accepts)."""
    return bool(_CODE.match(value))


class Html(str):
    """Text that is already Telegram HTML: put into a message as it is, never escaped."""

    __slots__ = ()


@dataclass(frozen=True)
class Items:
    """A list of values, joined as the language joins lists ("a, b and c"); style
    "comma" joins them with commas alone, in every language ("a, b, c")."""

    values: Sequence[object]
    style: str = "standard"


@dataclass(frozen=True)
class Text:
    """A message to translate when sent: the English original, its plural, its values."""

    msgid: str
    params: Mapping[str, object] = field(default_factory=dict)
    plural: str | None = None
    n: int = 0

    def render(self, language: str = DEFAULT_LANGUAGE, *, html_mode: bool = True) -> str:
        """The message in ``language`` (escaped values for HTML, plain values otherwise)."""
        catalog = translations(language)
        if self.plural is None:
            template = catalog.gettext(self.msgid)
        else:
            template = catalog.ngettext(self.msgid, self.plural, self.n)
        if not self.params:
            return template
        values = {k: _value(v, language, html_mode) for k, v in self.params.items()}
        return template.format(**values)

    def __str__(self) -> str:
        return self.render(DEFAULT_LANGUAGE, html_mode=False)


def _value(value: object, language: str, html_mode: bool) -> str:
    if isinstance(value, Text):
        return value.render(language, html_mode=html_mode)
    if isinstance(value, Html):
        return str(value)
    if isinstance(value, Items):
        parts = [_value(v, language, html_mode) for v in value.values]
        if value.style == "comma":  # a plain enumeration, whatever the language
            return ", ".join(parts)
        return format_list(parts, style=value.style, locale=language) if parts else ""  # type: ignore[arg-type]  # Babel's styles are a Literal; ours come from the code
    if isinstance(value, int) and not isinstance(value, bool):
        return format_decimal(value, locale=language)
    text = str(value)
    return html.escape(text, quote=True) if html_mode else text


def _(msgid: str, /, **params: object) -> Text:
    """A message to translate; ``{name}`` placeholders are filled from ``params``."""
    return Text(msgid, params)


def _n(singular: str, plural: str, n: int, /, **params: object) -> Text:
    """A message whose form depends on the number ``n`` (also available as ``{count}``)."""
    return Text(singular, {"count": n, **params}, plural, n)


# Characters that show nothing: controls, and the marks that reorder (bidi) or join text
# invisibly. In a quoted user text each is shown as U+FFFD, so the reader sees that
# something is there (Python's repr showed '\u202eevil\u202c').
_UNSEEN = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200b\u200e\u200f\u202a-\u202e\u2060-\u2069\ufeff]")


def quoted(text: str, limit: int = 40) -> Text:
    """A user's text inside a message: on one line, at most ``limit`` characters (an
    ellipsis marks a cut), characters that show nothing made visible, between the
    quotation marks of the reader's language."""
    shown = _UNSEEN.sub("\ufffd", " ".join(text.split()))  # white space first: a space
    if len(shown) > limit:
        shown = shown[: limit - 1].rstrip() + "…"
    return _("“{text}”", text=shown)


def lines(*texts: Text) -> Text:
    """Messages shown one per line, each translated (nothing of its own to translate)."""
    return Text(
        "\n".join(f"{{line{n}}}" for n in range(len(texts))),
        {f"line{n}": text for n, text in enumerate(texts)},
    )


def render(text: Text | str, language: str, *, html_mode: bool = True) -> str:
    """A :class:`Text` translated; a ``str`` is taken as already rendered."""
    return text.render(language, html_mode=html_mode) if isinstance(text, Text) else text


def catalog_path(language: str) -> Path:
    """The ``.po`` file of a language."""
    return LOCALES_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"


@functools.cache
def translations(language: str) -> gettext.NullTranslations:
    """The compiled catalog of a shipped language (English is the messages themselves)."""
    if language == DEFAULT_LANGUAGE or language not in LANGUAGES:
        return gettext.NullTranslations()
    with catalog_path(language).open("rb") as po:
        catalog = read_po(po, locale=language, domain=DOMAIN)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(compiled, domain=DOMAIN)


@functools.cache
def locale(language: str) -> Locale:
    """Babel's locale data for a language (dates, numbers, lists)."""
    return Locale.parse(language if language in LANGUAGES else DEFAULT_LANGUAGE)
