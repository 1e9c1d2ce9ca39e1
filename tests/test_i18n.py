"""The catalogs: every message the bot can send is translated in every shipped language,
with the same placeholders and HTML tags as the English original, and the template in
the repository is the one the code gives (README, "Languages")."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

from bot.digest.model import Digest, DigestItem
from bot.digest.render import local_time, render_digest_html
from bot.i18n import (
    DEFAULT_LANGUAGE,
    LANGUAGES,
    LOCALES_DIR,
    Html,
    Items,
    _,
    _n,
    catalog_path,
    supported,
)
from bot.paths import PROJECT_ROOT

TAG = re.compile(r"</?[a-zA-Z][^>]*>")
FIELD = re.compile(r"\{[^{}]*\}")
# The keywords of the extraction: the README's pybabel command uses the same.
KEYWORDS = {"_": None, "_n": (1, 2)}
SHIPPED = sorted(set(LANGUAGES) - {DEFAULT_LANGUAGE})


@functools.cache
def source_messages() -> dict[str, str | None]:
    """Every message in the code (msgid -> msgid_plural), extracted as pybabel does."""
    found: dict[str, str | None] = {}
    for _filename, _lineno, message, _comments, _context in extract_from_dir(
        str(PROJECT_ROOT / "bot"),
        method_map=[("**.py", "python")],
        keywords=KEYWORDS,
    ):
        if isinstance(message, tuple):
            found[message[0]] = message[1]
        else:
            found[message] = None
    return found


def load(path: str) -> Catalog:
    with open(path, "rb") as po:
        return read_po(po)


def messages(catalog: Catalog) -> Iterator[Message]:
    return (m for m in catalog if m.id)  # obsolete entries are apart, in catalog.obsolete


def shape(text: str) -> tuple[list[str], list[str]]:
    """What a translation must keep: its placeholders and its tags (in any order)."""
    return sorted(FIELD.findall(text)), sorted(TAG.findall(text))


def test_template_is_extracted_from_the_code() -> None:
    """messages.pot holds exactly the messages of the code (run the README's pybabel
    extract and update after changing a message)."""
    template = load(str(LOCALES_DIR / "messages.pot"))
    in_template = {
        (m.id[0] if isinstance(m.id, tuple) else m.id): (
            m.id[1] if isinstance(m.id, tuple) else None
        )
        for m in messages(template)
    }
    assert in_template == source_messages()


def test_every_shipped_language_has_a_catalog_and_no_other() -> None:
    """LANGUAGES and the folders of bot/locales name the same languages."""
    folders = {p.name for p in LOCALES_DIR.iterdir() if p.is_dir()}
    assert folders == set(SHIPPED)
    assert len(LANGUAGES) >= 8


def catalog_problems(path: Path, source: dict[str, str | None]) -> list[str]:
    """What is wrong with a catalog: messages of the code missing, empty or fuzzy in it,
    plural forms missing, and translations whose placeholders or HTML tags differ from
    the English original's."""
    catalog = load(str(path))
    translated = {(m.id[0] if isinstance(m.id, tuple) else m.id): m for m in messages(catalog)}
    problems = []
    for msgid, plural in source.items():
        message = translated.get(msgid)
        if message is None:
            problems.append(f"missing: {msgid!r}")
            continue
        if message.fuzzy:
            problems.append(f"fuzzy: {msgid!r}")
        string = message.string
        forms = [string] if isinstance(string, str) else list(string or ())
        if plural is not None and len(forms) != catalog.num_plurals:
            problems.append(f"{len(forms)} plural forms of {catalog.num_plurals}: {msgid!r}")
        for index, form in enumerate(forms):
            original = msgid if plural is None or index == 0 else plural
            if not form:
                problems.append(f"untranslated: {msgid!r}")
            elif shape(form) != shape(original):
                problems.append(f"placeholders or tags differ: {msgid!r} -> {form!r}")
    return problems


@pytest.mark.parametrize("language", SHIPPED)
def test_every_message_is_translated_with_its_placeholders_and_tags(language: str) -> None:
    """No message of the code is missing, empty or fuzzy in the catalog, and each
    translation (each plural form) has the original's placeholders and HTML tags."""
    problems = catalog_problems(catalog_path(language), source_messages())
    assert not problems, "\n".join(problems)


def test_the_catalog_check_catches_a_changed_placeholder_or_tag() -> None:
    """The shape compared above tells a dropped tag or renamed placeholder apart."""
    assert shape("<b>Hi</b> {name}") == shape("{name}, <b>salut</b>")
    assert shape("<b>Hi</b> {name}") != shape("<b>Salut</b> {nom}")
    assert shape("<b>Hi</b> {name}") != shape("<b>Salut {name}")


def broken_copy(tmp_path: Path, language: str, edit: Callable[[Catalog], None]) -> Path:
    """A copy of a shipped catalog, broken by ``edit``, written to ``tmp_path``."""
    catalog = load(str(catalog_path(language)))
    edit(catalog)
    path = tmp_path / f"{language}.po"
    with path.open("wb") as po:
        write_po(po, catalog)
    return path


def _translation(catalog: Catalog, msgid: str) -> Message:
    message = catalog.get(msgid)
    assert message is not None, msgid
    return message


def _drop(msgid: str) -> Callable[[Catalog], None]:
    return lambda catalog: catalog.delete(msgid)


def _replace(msgid: str, old: str, new: str) -> Callable[[Catalog], None]:
    def edit(catalog: Catalog) -> None:
        message = _translation(catalog, msgid)
        assert isinstance(message.string, str)
        assert old in message.string, (old, message.string)
        message.string = message.string.replace(old, new)

    return edit


def _fuzzy(msgid: str) -> Callable[[Catalog], None]:
    def edit(catalog: Catalog) -> None:
        _translation(catalog, msgid).flags.add("fuzzy")

    return edit


ZONE = "Time zone set to {zone}."


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (_drop(ZONE), "missing: 'Time zone set to {zone}.'"),
        (_replace(ZONE, "{zone}", "{zona}"), "placeholders or tags differ"),
        (_replace(ZONE, "{zone}", ""), "placeholders or tags differ"),
        (_fuzzy(ZONE), "fuzzy: 'Time zone set to {zone}.'"),
        (_replace(ZONE, "Zeitzone", ""), None),
    ],
    ids=["missing", "renamed placeholder", "dropped placeholder", "fuzzy", "harmless edit"],
)
def test_a_deliberately_broken_catalog_fails_the_check(
    tmp_path: Path, edit: Callable[[Catalog], None], expected: str | None
) -> None:
    """The check above is run on a copy of the German catalog with one fault put in:
    each fault is reported, and an edit that keeps the shape is not."""
    assert catalog_problems(catalog_path("de"), source_messages()) == []
    problems = catalog_problems(broken_copy(tmp_path, "de", edit), source_messages())
    if expected is None:
        assert problems == []
    else:
        assert len(problems) == 1, problems
        assert problems[0].startswith(expected)


def test_a_broken_html_tag_in_a_catalog_fails_the_check(tmp_path: Path) -> None:
    """A translation that drops or changes a tag of the original is reported."""
    tagged = next(m for m in source_messages() if TAG.search(m) and "{" not in m)
    tag = TAG.findall(tagged)[0]
    german = _translation(load(str(catalog_path("de"))), tagged).string
    assert isinstance(german, str)
    assert tag in german
    for replacement in ("", re.sub("[a-zA-Z]+", "u", tag, count=1)):
        path = broken_copy(tmp_path, "de", _replace(tagged, tag, replacement))
        [problem] = catalog_problems(path, source_messages())
        assert problem.startswith("placeholders or tags differ"), problem


@pytest.mark.parametrize("language", SHIPPED)
def test_translations_render_with_escaped_values(language: str) -> None:
    """A translated message takes its values, escaped for Telegram HTML, and numbers and
    lists are written the language's way."""
    text = _("Time zone set to {zone}.", zone="<Europe/Berlin>")
    rendered = text.render(language)
    assert "&lt;Europe/Berlin&gt;" in rendered
    assert rendered != text.render(DEFAULT_LANGUAGE)
    assert str(text) == "Time zone set to <Europe/Berlin>."
    assert _("{n}", n=Html("<b>x</b>")).render(language) == "<b>x</b>"
    listed = _("{a}", a=Items(["x", "y", "z"])).render(language)
    assert listed.startswith("x")
    assert listed.endswith("z")
    assert "y" in listed


def test_plural_forms_follow_the_language() -> None:
    """Russian has three forms: 1 новость, 3 новости, 5 новостей."""
    header = (
        "<b>📰 Your news digest</b> · {day} · {count} story",
        "<b>📰 Your news digest</b> · {day} · {count} stories",
    )
    forms = [_n(*header, n, day="d").render("ru") for n in (1, 3, 5, 21)]
    assert forms[0].endswith("1 новость")
    assert forms[1].endswith("3 новости")
    assert forms[2].endswith("5 новостей")
    assert forms[3].endswith("21 новость")


@pytest.mark.parametrize(
    ("code", "expected"),
    [("de", "de"), ("pt-br", "pt"), ("en-GB", "en"), ("uk", "uk"), ("ja", None), (None, None)],
)
def test_telegram_language_codes(code: str | None, expected: str | None) -> None:
    """Telegram's IETF tags map to the shipped language of their base language."""
    assert supported(code) == expected


def test_digest_dates_and_words_follow_the_language() -> None:
    """A German digest: German header and weekday, German dates, "Auch berichtet von"."""
    now = datetime(2026, 11, 25, 7, 0, tzinfo=UTC)
    item = DigestItem(
        article_id="a",
        title="Brücke",
        url="https://example.org/a",
        source="Kurier",
        when=datetime(2026, 10, 3, 9, 30, tzinfo=UTC),
        summary=("Ein Satz.",),
        also=(("Bote", "https://example.org/b"),),
    )
    digest = Digest(1, (item,), timezone="Europe/Berlin", language="de")
    [message] = render_digest_html(digest, now=now)
    assert "Deine Nachrichten" in message
    assert "Mittwoch, 25. November 2026" in message
    assert "1 Meldung" in message
    assert "3. Okt., 11:30" in message
    assert "Auch berichtet von" in message
    assert local_time(now, "Europe/Berlin", now, "fr") == "08:00"
    assert local_time(item.when, "UTC", now, "en") == "Oct 3, 09:30"
