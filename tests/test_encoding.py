"""Bytes to text (``summarizer.decode_bytes``): one set of rules for every page and file."""

from __future__ import annotations

import codecs

import pytest

from summarizer import SummarizerError, decode_bytes, parse_bytes

# Original sentences in the languages each legacy encoding serves.
TEXTS = {
    "cp1252": "La fête du quartier a réuni les habitants près du marché, malgré la pluie. "
    "Les enfants ont dansé jusqu’au soir, et les cafés sont restés ouverts très tard.",
    "latin-1": "Die Brücke über den Fluß wird im März für Lastwagen gesperrt. Die Stadt "
    "prüft, ob die Fähre öfter fährt, solange die Arbeiten dauern.",
    "koi8-r": "Городской совет одобрил план ремонта старого моста через реку. Работы "
    "начнутся весной и продлятся около двух лет, сообщили в мэрии.",
    "shift_jis": "市議会は古い橋の改修計画を承認しました。"
    "工事は春に始まり、約二年かかる見込みです。市は期間中の渡し船の増便を検討しています。",
    "gb2312": "市议会批准了修复旧桥的计划。工程将于春季开始，预计需要两年左右。"
    "市政府正在考虑在施工期间增加渡轮班次。",
    "utf-16-le": "Міська рада схвалила план ремонту старого мосту. Роботи почнуться навесні "
    "й триватимуть близько двох років.",
}


@pytest.mark.parametrize("encoding", sorted(TEXTS))
def test_a_declared_charset_is_honoured(encoding: str) -> None:
    """The HTTP Content-Type charset decides (the label read as a browser reads it)."""
    text = TEXTS[encoding]
    label = {"utf-16-le": "utf-16", "latin-1": "iso-8859-1"}.get(encoding, encoding)
    assert decode_bytes(text.encode(encoding), f"text/html; charset={label}") == text


@pytest.mark.parametrize("encoding", sorted(set(TEXTS) - {"utf-16-le"}))
def test_a_meta_charset_is_honoured(encoding: str) -> None:
    """Without a header, ``<meta charset>`` (or the http-equiv form) decides."""
    text = TEXTS[encoding]
    for meta in (
        f'<meta charset="{encoding}">',
        f'<meta http-equiv="Content-Type" content="text/html; charset={encoding}">',
    ):
        page = f"<html><head>{meta}</head><body><p>{text}</p></body></html>"
        assert decode_bytes(page.encode(encoding), "text/html") == page


@pytest.mark.parametrize("encoding", sorted(TEXTS))
def test_an_undeclared_encoding_is_detected(encoding: str) -> None:
    """Nothing declared: valid UTF-8 is UTF-8, anything else is detected."""
    text = " ".join([TEXTS[encoding]] * 3)
    assert decode_bytes(text.encode(encoding)) == text


def test_an_xml_declaration_and_a_byte_order_mark_decide() -> None:
    """An XML declaration names the encoding; a byte-order mark outranks every label."""
    text = TEXTS["koi8-r"]
    xml = f'<?xml version="1.0" encoding="koi8-r"?><rss><item>{text}</item></rss>'
    assert decode_bytes(xml.encode("koi8-r")) == xml
    for bom, codec in (
        (codecs.BOM_UTF8, "utf-8"),
        (codecs.BOM_UTF16_LE, "utf-16-le"),
        (codecs.BOM_UTF16_BE, "utf-16-be"),
    ):
        data = bom + text.encode(codec)
        assert decode_bytes(data, "text/html; charset=iso-8859-1") == text


def test_a_wrong_declaration_is_passed_over() -> None:
    """A page labelled UTF-8 that is really windows-1252 (a common server mistake) is read
    by the next evidence, not turned into replacement characters."""
    text = TEXTS["cp1252"]
    assert decode_bytes(text.encode("cp1252"), "text/html; charset=utf-8") == text


def test_binary_and_empty_input_are_refused_in_words() -> None:
    """Empty input and binary data raise ``SummarizerError`` with a plain reason."""
    with pytest.raises(SummarizerError, match="empty"):
        decode_bytes(b"  \n ")
    with pytest.raises(SummarizerError, match="binary"):
        decode_bytes(bytes(range(256)) * 40)


def test_parse_bytes_uses_the_content_type() -> None:
    """``parse_bytes`` passes the Content-Type on: a latin-1 page comes out right."""
    text = TEXTS["latin-1"]
    page = f"<html><body><article><p>{text}</p><p>{text}</p></article></body></html>"
    article = parse_bytes(page.encode("latin-1"), content_type="text/html; charset=latin1")
    assert "Fluß" in article.text
    assert "\ufffd" not in article.text
