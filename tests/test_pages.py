"""Real-page problems, each reproduced on a small page written for the test."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from summarizer import LINK_LIST, SummarizerError, parse_bytes, parse_html, parse_text, summarize
from summarizer.parsers.furniture import is_furniture, strip_dateline
from summarizer.parsers.title import TitleSources, choose_title, strip_site_name

BODY = (
    "<p>The harbour council voted on Monday to rebuild the old pier, which storms damaged "
    "last winter, with money from the regional budget.</p>"
    "<p>Work is due to start in the spring and should take about eighteen months, the "
    "council's engineers told members before the vote.</p>"
    "<p>Fishing crews, who have moored further up the coast since the damage, welcomed "
    "the plan but asked for a temporary landing stage in the meantime.</p>"
)


def page(body: str, head: str = "<title>Council votes to rebuild pier</title>") -> str:
    return f"<!doctype html><html lang='en'><head>{head}</head><body>{body}</body></html>"


def test_html_whose_tags_start_deep_inside_is_parsed_as_html() -> None:
    """Regression: a saved page opening with text and comments was summarized as raw HTML."""
    padding = "Saved page\n" + "<!-- a comment that pushes the markup down -->\n" * 60
    text = padding + page(f"<article><h1>Council votes to rebuild pier</h1>{BODY}</article>")
    article = parse_text(text)
    assert article.title == "Council votes to rebuild pier"
    assert all("<" not in p and "href" not in p for p in article.paragraphs)
    assert article.paragraphs[0].startswith("The harbour council voted")


def test_plain_text_mentioning_a_tag_stays_plain_text() -> None:
    """Prose that mentions one tag is not mistaken for a page."""
    article = parse_text("Use the <p> tag for paragraphs.\n\nIt is the most common one.")
    assert article.paragraphs == ("Use the <p> tag for paragraphs.", "It is the most common one.")


def test_a_fragment_that_opens_with_a_tag_is_html_however_its_lines_break() -> None:
    """Found by an operator: paragraphs pasted with a line break inside the first one
    were taken for plain text (the first line had no closing tag), and the summary
    showed '<p>' and '</p><p>'."""
    text = (
        "<p>The harbour council voted on Monday to rebuild\nthe old pier, which storms "
        "damaged last winter.</p><p>Work is due to start in the spring.</p>"
    )
    article = parse_text(text)
    assert article.paragraphs == (
        "The harbour council voted on Monday to rebuild the old pier, which storms damaged "
        "last winter.",
        "Work is due to start in the spring.",
    )


def test_line_breaks_of_the_pages_source_are_spaces_beside_a_br() -> None:
    """Found on a real page (zeit.de): a paragraph whose source lines break inside its
    sentences and which ends with <br> came out as lines, and a line broken before a
    capitalized word (a German noun) was taken for a heading: the paragraph lost its
    first sentence and the summary started mid-sentence. A browser shows those breaks as
    spaces; only the <br> breaks a line."""
    body = (
        "<article><h1>Zugverkehr in Europa</h1><p>Kris de Decker kennt das aus\n"
        "eigener Erfahrung. Seit 2008 verzichtet der belgische\nTechnikjournalist komplett "
        "auf Flüge und reist mit\ndem Zug nach ganz Europa. Ich habe diese entspannte Art "
        "zu Reisen sehr\ngenossen.   <br>\n</p><p>Die Fahrt nach Berlin dauert einen "
        "Tag.<br>Sie führt über Köln.</p></article>"
    )
    article = parse_html(page(body, head="<title>Zugverkehr in Europa</title>"))
    assert article.paragraphs == (
        "Kris de Decker kennt das aus eigener Erfahrung. Seit 2008 verzichtet der belgische "
        "Technikjournalist komplett auf Flüge und reist mit dem Zug nach ganz Europa. Ich "
        "habe diese entspannte Art zu Reisen sehr genossen.",
        "Die Fahrt nach Berlin dauert einen Tag.",
        "Sie führt über Köln.",
    )


@pytest.mark.parametrize(
    ("head", "h1", "expected"),
    [
        # "Headline - Site name" in every metadata title, the headline in the <h1>.
        (
            "<title>Council votes to rebuild pier - Coast Times</title>"
            "<meta property='og:site_name' content='Coast Times'>",
            "Council votes to rebuild pier",
            "Council votes to rebuild pier",
        ),
        # A CMS's name as the <title>, the headline only in the <h1>.
        (
            "<title>pressworks</title>",
            "Council votes to rebuild pier",
            "Council votes to rebuild pier",
        ),
        # The <title> is cut short; the <h1> has the whole headline.
        (
            "<title>Council votes to rebuild | Coast Times</title>",
            "Council votes to rebuild old pier",
            "Council votes to rebuild old pier",
        ),
        # No <h1>: the social title, without the site's name.
        (
            "<meta property='og:title' content='Council votes to rebuild pier | Coast Times'>"
            "<meta property='og:site_name' content='Coast Times'>",
            "",
            "Council votes to rebuild pier",
        ),
    ],
)
def test_headline_is_the_one_a_reader_sees(head: str, h1: str, expected: str) -> None:
    """The title is the page's headline, never a CMS name or 'Headline - Site'."""
    heading = f"<h1>{h1}</h1>" if h1 else ""
    logo = "<header><h1>Coast Times</h1></header>"
    article = parse_html(page(f"{logo}<article>{heading}{BODY}</article>", head))
    assert article.title == expected


def test_site_name_is_taken_off_either_end() -> None:
    """'Site: Headline', 'Headline | Section | Site' and 'Headline - Site 12/2019'."""
    sites = ["Coast Times", "coasttimes.example"]
    assert strip_site_name("Coast Times: Pier to be rebuilt", sites) == "Pier to be rebuilt"
    assert strip_site_name("Pier to be rebuilt | Coast Times | Local", sites) == (
        "Pier to be rebuilt"
    )
    assert strip_site_name("Pier - a second life | Coast Times", sites) == ("Pier - a second life")
    assert strip_site_name("Pier to be rebuilt - 12.06.2019", sites) == "Pier to be rebuilt"


def test_title_that_shares_nothing_with_the_article_is_not_chosen() -> None:
    """A one-word title unrelated to the text loses to a plausible heading."""
    sources = TitleSources(headings=[], metadata=["cmsname"], site_names=[], body="Pier news.")
    assert choose_title(sources) == ""


def test_blocks_do_not_run_together_or_repeat() -> None:
    """Regression: 'smart?Before' (quote paragraphs and <br> lines glued) and a quotation
    printed twice (its container and its paragraphs)."""
    body = (
        "<article><h1>Council votes to rebuild pier</h1>"
        "<p>Is the plan smart?<br>Before the vote, engineers inspected the pier twice.</p>"
        "<blockquote><p>We will rebuild it stronger than before.</p>"
        "<p>The town needs its pier back.</p></blockquote>" + BODY + "</article>"
    )
    article = parse_html(page(body))
    text = " | ".join(article.paragraphs)
    assert "smart?Before" not in text
    assert "before.The" not in text
    assert text.count("We will rebuild it stronger") == 1
    assert "Is the plan smart?" in article.paragraphs


@pytest.mark.parametrize(
    "line",
    [
        "By Jane Roe",
        "By Jane Roe and John Doe | March 3, 2026",
        "Von Markus Beispiel, Berlin",
        "10:11 pm CST.",
        "Updated: March 3, 2026 10:11 am",
        "15. Mai 2026, 05:28 Uhr",
        "Photo: Jane Roe / Coast Wire",
        "(Credit: Jane Roe / Coast Wire)",
        "The old pier after the storm in January. Photo: Coast Wire",
        "Die Mole nach dem Sturm. (Foto: dpa)",
        "© Coast Times 2026",
        "Additional reporting by John Doe; editing by Jane Roe",
        "4 min read",
        "Home > News > Local",
        "This article originally appeared on Coast Times.",
        "Written by: Jane Roe",
        # Found by a reader: pasted page text kept its cookie banner and its pointers.
        "We use cookies to improve your experience. By continuing to browse, you agree.",
        "By continuing to browse, you agree to our use of cookies.",
        "Read more Letters to the Editor.",
        "Read more: Council to vote on pier",
        "See also: the pier's history",
        "Lire aussi : Écoles : le plan de rénovation",
        "Lesen Sie auch: Der Rat stimmt ab",
        "Share this article",
        "Facebook Twitter WhatsApp Email",
        "FOR IMMEDIATE RELEASE",
    ],
)
def test_furniture_lines(line: str) -> None:
    """Bylines, dates, times, credits, captions, breadcrumbs are not article text."""
    assert is_furniture(line)


@pytest.mark.parametrize(
    "line",
    [
        "The council voted on Monday to rebuild the pier.",
        "By the end of March, the council had voted to rebuild the pier.",
        "Photographers gathered at the pier on Monday.",
        "Reporting by local papers helped the campaign, the mayor said.",
        "March 3 was the day the storm hit the coast hardest.",
        "The court ruled that websites must ask before they store cookies, and let "
        "visitors refuse them as easily as they accept them.",
        "Readers who see more than one notice a day are likelier to accept all of them.",
        "Share prices fell sharply on Monday after the report.",
    ],
)
def test_article_lines_are_not_furniture(line: str) -> None:
    """Sentences that start like furniture but say something are kept."""
    assert not is_furniture(line)


@pytest.mark.parametrize(
    ("line", "rest"),
    [
        ("PORTVILLE (Coast Wire) - The council voted.", "The council voted."),
        ("Portville/Nord (dpa) - Der Rat hat abgestimmt.", "Der Rat hat abgestimmt."),
        ("(CNN) -- The council voted.", "The council voted."),
        ("PORTVILLE — The council voted.", "The council voted."),
        ("The council (in Portville) - voted.", "The council (in Portville) - voted."),
        # Found by a reader: the Spanish agencies' form and a press wire's stayed in.
        ("MADRID, 5 de mayo (EFE).- El Gobierno aprobó.", "El Gobierno aprobó."),
        (
            "SAN JOSE, Calif., March 4, 2025 /PRNewswire/ -- Acme Robotics said.",
            "Acme Robotics said.",
        ),
        (
            "Prices rose 3% year/on/year - the data show.",
            "Prices rose 3% year/on/year - the data show.",
        ),
    ],
)
def test_datelines_are_taken_off(line: str, rest: str) -> None:
    """A dateline in front of the first sentence goes; the sentence stays verbatim."""
    assert strip_dateline(line) == rest


def test_page_furniture_stays_out_of_the_summary() -> None:
    """Dateline, byline, time stamp, caption and credit never reach the summary."""
    body = (
        "<article><h1>Council votes to rebuild pier</h1>"
        "<p>By Jane Roe</p><p>10:11 pm CST.</p>"
        "<p>PORTVILLE (Coast Wire) - The harbour council voted on Monday to rebuild the old "
        "pier, which storms damaged last winter.</p>"
        "<figure><img src='p.jpg'><figcaption>The pier after the storm. Photo: Jane Roe"
        "</figcaption></figure>"
        "<p>The damaged pier in January. Photo: Coast Wire</p>" + BODY + "</article>"
    )
    article = parse_html(page(body))
    text = " ".join(article.paragraphs)
    for noise in ("Jane Roe", "10:11", "Coast Wire", "PORTVILLE"):
        assert noise not in text
    assert article.paragraphs[0].startswith("The harbour council voted on Monday")
    summary = summarize(article)
    assert "PORTVILLE" not in summary.text


@pytest.mark.parametrize(
    "drop_cap",
    [
        "<div class='initial'>T</div><p>urkey and its neighbours agreed on Monday to rebuild the "
        "shared pier, the council said after the vote.</p>",
        "<p><aside class='cap'>T</aside>urkey and its neighbours agreed on Monday to rebuild the "
        "shared pier, the council said after the vote.</p>",
        "<p><img alt='T' src='t.png'>urkey and its neighbours agreed on Monday to rebuild the "
        "shared pier, the council said after the vote.</p>",
    ],
)
def test_drop_caps_are_kept(drop_cap: str) -> None:
    """Regression: 'urkey, Poland...' when the drop cap sat in its own element."""
    article = parse_html(page(f"<article><h1>Pier deal</h1>{drop_cap}{BODY}</article>"))
    assert any(p.startswith("Turkey and its neighbours") for p in article.paragraphs)
    assert not any(p.startswith("urkey") for p in article.paragraphs)


def test_article_body_from_structured_data() -> None:
    """A page that shows only a teaser but carries the article in JSON-LD."""
    paragraphs = [
        "The harbour council voted on Monday to rebuild the old pier after the storms.",
        "Work is due to start in the spring and should take about eighteen months.",
        "Fishing crews welcomed the plan but asked for a temporary landing stage.",
    ]
    data = {
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "headline": "Council votes to rebuild pier",
        "articleBody": "\n\n".join(paragraphs),
    }
    head = f"<script type='application/ld+json'>{json.dumps(data)}</script>"
    body = "<article><h1>Council votes to rebuild pier</h1><p>Subscribe to read on.</p></article>"
    article = parse_html(page(body, head))
    assert article.paragraphs == tuple(paragraphs)
    assert article.title == "Council votes to rebuild pier"


def test_soft_hyphens_do_not_split_words() -> None:
    """Soft hyphens in the page are invisible: they are not kept inside words."""
    body = "<article><h1>Pier</h1><p>The coun\u00adcil voted to re\u00adbuild the pier today.</p>"
    article = parse_html(page(body + BODY + "</article>"))
    assert "The council voted to rebuild the pier today." in article.paragraphs


PAGES = Path(__file__).resolve().parents[1].parent / "shared" / "eval" / "pages"


@pytest.mark.skipif(not (PAGES / "pages.json").is_file(), reason="../shared/eval/pages absent")
def test_shared_pages_headlines_and_furniture() -> None:
    """On the shared real pages: the headline as the reader sees it, and no listed piece of
    furniture in the summary. (The pages stay outside this repository.)"""

    def key(text: str) -> str:
        text = text.replace("\u00ad", "")
        for a, b in (("’", "'"), ("‘", "'"), ("“", '"'), ("”", '"'), ("„", '"'), ("′", "'")):
            text = text.replace(a, b)
        return " ".join(text.split()).casefold().rstrip(" .")

    expectations = json.loads((PAGES / "pages.json").read_text(encoding="utf-8"))
    wrong: list[str] = []
    for name, spec in expectations.items():
        article = parse_bytes((PAGES / "html" / name).read_bytes())
        accepted = {key(spec["headline"]), *(key(t) for t in spec.get("also_accept", []))}
        if key(article.title) not in accepted:
            wrong.append(f"{name}: title {article.title!r}")
        summary = key(summarize(article).text)
        wrong.extend(f"{name}: {s!r}" for s in spec["not_article"] if key(s) in summary)
    assert not wrong


def folder_listing(names: list[str]) -> str:
    """A folder as Python's http.server lists it."""
    items = "".join(f'<li><a href="{n}">{n}</a></li>' for n in names)
    return (
        "<!DOCTYPE HTML><html lang='en'><head><title>Directory listing for /</title></head>"
        f"<body><h1>Directory listing for /</h1><hr><ul>{items}</ul><hr></body></html>"
    )


FRONT_PAGE = page(
    "<main><h1>Harbour Times</h1><ul>"
    + "".join(
        f'<li><a href="/story/{n}">{headline}</a></li>'
        for n, headline in enumerate(
            [
                "Council votes to rebuild the old pier after winter storms",
                "Fishing crews welcome plan but ask for a temporary landing stage",
                "Regional budget sets aside money for the harbour works",
                "Engineers say the pier will take eighteen months to rebuild",
                "Ferry timetable changes for the summer season announced",
                "Local school wins the regional science fair for a third year",
            ]
        )
    )
    + "</ul></main>",
    head="<title>Harbour Times: news from the coast</title>",
)


@pytest.mark.parametrize(
    "html",
    [folder_listing([f"report-{n}.txt" for n in range(1, 31)] + ["sub/"]), FRONT_PAGE],
    ids=["folder listing", "front page of headlines"],
)
def test_a_page_that_is_a_list_of_links_is_no_article(html: str) -> None:
    """Found by a stranger: a folder listing was 'summarized' as one bullet holding every
    file name."""
    with pytest.raises(SummarizerError, match=f"^{LINK_LIST}$"):
        parse_html(html)


def test_an_article_with_links_in_its_text_and_around_it_is_an_article() -> None:
    """Links inside the paragraphs, and a menu and related stories around them, leave the
    article an article."""
    menu = "".join(f'<a href="/{w}">{w.title()}</a> ' for w in ("news", "sport", "weather"))
    body = BODY.replace("regional budget", '<a href="/budget">regional budget</a>').replace(
        "council's engineers", '<a href="/engineers">council\'s engineers</a>'
    )
    related = "".join(
        f'<li><a href="/r{n}">Related story number {n} about the harbour</a></li>'
        for n in range(12)
    )
    article = parse_html(
        page(f"<nav>{menu}</nav><article><h1>Council votes</h1>{body}</article><ul>{related}</ul>")
    )
    assert article.paragraphs[0].startswith("The harbour council voted")
