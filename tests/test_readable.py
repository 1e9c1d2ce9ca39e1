"""Readable summaries: no dangling pronouns, no quotation cut in half, no fragments."""

from __future__ import annotations

import pytest

from summarizer import Article, PreparedDocument, prepare, summarize
from summarizer.nlp.cohesion import Lean, lean, leans_back, quote_groups, quote_steps
from summarizer.nlp.languages import get_language
from summarizer.nlp.tokenize import split_sentences
from summarizer.rank import newsrank
from summarizer.summarize import select

EN = get_language("en")


@pytest.mark.parametrize(
    ("sentence", "language", "expected"),
    [
        ("He said the pier would reopen in May.", "en", True),
        ("It's not clear when the pier will reopen.", "en", True),
        ('"It will reopen in May," she said.', "en", True),
        ('"It will reopen in May," said she.', "en", True),
        ("But the council disagreed with the plan.", "en", True),
        ("The council said the pier would reopen in May.", "en", False),
        ("Hewlett said the pier would reopen in May.", "en", False),
        ("Er sagte, die Mole werde im Mai wieder geöffnet.", "de", True),
        ("„Wir öffnen im Mai“, sagte er.", "de", True),
        ("Der Rat stimmte am Montag zu.", "de", False),
        ("Il a annoncé la réouverture en mai.", "fr", True),
        ("« Nous rouvrirons en mai », a-t-elle déclaré.", "fr", True),
        ("Le conseil a voté lundi.", "fr", False),
    ],
)
def test_leans_back(sentence: str, language: str, expected: bool) -> None:
    """Pronoun and connective openers and bare-pronoun attributions need the sentence before."""
    assert leans_back(sentence, get_language(language)) is expected


@pytest.mark.parametrize(
    ("sentence", "language", "expected"),
    [
        ("But the council disagreed with the plan.", "en", Lean.CONNECTIVE),
        ("However, the harbour master stayed calm.", "en", Lean.CONNECTIVE),
        ("But he disagreed with the plan.", "en", Lean.REFERENCE),
        ("But in May it will reopen.", "en", Lean.REFERENCE),
        ("She said the pier would reopen in May.", "en", Lean.REFERENCE),
        ("Aber der Rat lehnte den Plan ab.", "de", Lean.CONNECTIVE),
        ("Jedoch lehnte er den Plan ab.", "de", Lean.REFERENCE),
        ("Mais le conseil a refusé le projet.", "fr", Lean.CONNECTIVE),
        ("Mais il a refusé le projet.", "fr", Lean.REFERENCE),
        ("The council voted on Monday.", "en", Lean.NONE),
    ],
)
def test_lean_grades(sentence: str, language: str, expected: Lean) -> None:
    """A connective with its own subject leans less than a pronoun or a connective
    followed by one: the reader misses a contrast, not who the sentence is about."""
    assert lean(sentence, get_language(language)) is expected


@pytest.mark.parametrize(
    "sentence",
    [
        "Anna Berg, the harbour master, said she expected the ferries back in May.",
        "In addition to the pier, the council will rebuild the old fish market.",
        "De plus en plus de touristes viennent au port.",
    ],
)
def test_self_contained_look_alikes(sentence: str) -> None:
    """Regression: reported speech after a named subject ("X said she expected") and
    phrases that start like a connective ("In addition to", "De plus en plus") were
    treated as leaning on the sentence before and never picked alone."""
    language = get_language("fr" if sentence.startswith("De") else "en")
    assert lean(sentence, language) is Lean.NONE


@pytest.mark.parametrize(
    ("sentence", "steps"),
    [
        ('He said "yes" and left.', (0, 0)),
        ("„Ja“, sagte er.", (0, 0)),
        ("« Oui », dit-il.", (0, 0)),
        ("»Ja«, sagte er.", (0, 0)),
        ('"We will rebuild it.', (0, 1)),
        ('It will take a year," he said.', (-1, -1)),
        ("“Opened but never closed.", (0, 1)),
    ],
)
def test_quote_steps(sentence: str, steps: tuple[int, int]) -> None:
    """Opening and closing marks are told apart by their neighbours, in every style."""
    assert quote_steps(sentence) == steps


def test_quote_groups_pair_the_sentences_of_one_quotation() -> None:
    """A quotation over two sentences is one group; an unclosed one is no group."""
    sentences = ['"We will rebuild it.', 'It will take a year," he said.', "The vote was close."]
    assert quote_groups(sentences, 3) == [0, 0, 2]
    assert quote_groups(sentences, 1) == [None, None, 2]
    assert quote_groups(['"Never closed.', "Plain sentence here."], 3) == [None, 1]


ARTICLE = Article(
    title="Pier",
    paragraphs=(
        "The harbour council voted on Monday to rebuild the old pier at a cost of four million.",
        "Maria Lopez, the harbour master, has campaigned for the pier for ten years. "
        "She said the pier would bring the fishing fleet and the ferries back to the town "
        "centre, and with them the pier shops, the pier market and the pier festival.",
        '"The pier is the heart of the town. '
        'Without the pier there is no town," said Tom Reed, the pier trust chairman.',
        "Work on the pier starts in spring and the pier should open again next summer.",
    ),
)


def test_a_pronoun_sentence_comes_with_its_antecedent_or_not_at_all() -> None:
    """Regression: 'She said...' without the sentence that says who she is."""
    document = prepare(ARTICLE)
    she = next(s.index for s in document.sentences if s.text.startswith("She said"))
    for count in (1, 2, 3):
        picked = select(document, [she, *range(len(document))], count, None)
        if she in picked:
            assert she - 1 in picked
    plain = select(document, [she, *range(len(document))], 1, None, readable=False)
    assert plain == [she]


def test_a_quotation_is_never_cut_in_half() -> None:
    """Regression: a quote opened in one sentence and closed in the next, half taken."""
    document = prepare(ARTICLE)
    halves = [s.index for s in document.sentences if s.text.count('"') == 1]
    assert len(halves) == 2
    for count in (1, 2, 3):
        picked = select(document, [*halves, *range(len(document))], count, None)
        assert not set(halves) & set(picked)


def test_summary_sentences_are_verbatim_and_readable() -> None:
    """The summary copies sentences verbatim and none of them dangles or splits a quote."""
    summary = summarize(ARTICLE, sentences=3, max_chars=None)
    texts = [s.text for s in prepare(ARTICLE).sentences]
    assert all(s in texts for s in summary.sentences)
    picked = sorted(texts.index(s) for s in summary.sentences)
    for index in picked:
        if index and leans_back(texts[index], EN):
            assert index - 1 in picked
    assert all(s.count('"') % 2 == 0 for s in summary.sentences)


def test_fragments_and_lower_case_pieces_are_not_picked() -> None:
    """A three-word line or a piece starting in lower case is never a summary sentence."""
    article = Article(
        title="Pier",
        paragraphs=(
            "Pier news today.",
            "The harbour council voted on Monday to rebuild the old pier.",
            "Work starts in spring and should be finished by next summer.",
        ),
    )
    document = prepare(article)
    picked = select(document, [0, 1, 2], 2, None)
    assert 0 not in picked


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Is it smart?Before the vote, they met.", ["Is it smart?", "Before the vote, they met."]),
        ("See www.example.com/a.Html for more.", ["See www.example.com/a.Html for more."]),
        ("Node.JS runs it.", ["Node.JS runs it."]),
        ("iPhone sales rose. de Gaulle spoke.", ["iPhone sales rose.", "de Gaulle spoke."]),
        ("Yahoo! shares rose today.", ["Yahoo! shares rose today."]),
    ],
)
def test_glued_and_falsely_split_sentences(text: str, expected: list[str]) -> None:
    """Sentences glued without a space are split; a break before a lower-case word is not
    a sentence end."""
    assert split_sentences(text, EN) == expected


CONNECTIVE_ARTICLE = Article(
    title="Ferry",
    paragraphs=(
        "The island ferry will stop running in October after forty years of service.",
        "But the island council has found a new operator for the ferry from next spring.",
        "The new operator is a fishing company from the harbour town across the bay.",
        "It will run two crossings a day in summer and one crossing a day in winter.",
        "Tickets will cost the same as they do today for islanders and for visitors.",
    ),
)


def _indices(document: PreparedDocument) -> tuple[int, int, int]:
    texts = [s.text for s in document.sentences]
    but = next(i for i, t in enumerate(texts) if t.startswith("But"))
    it = next(i for i, t in enumerate(texts) if t.startswith("It "))
    tickets = next(i for i, t in enumerate(texts) if t.startswith("Tickets"))
    return but, it, tickets


def test_a_connective_with_its_own_subject_stands_alone_when_it_clearly_wins() -> None:
    """'But the island council has found...' is readable without the sentence before it:
    it is taken alone when its score beats the best self-contained sentence by the margin,
    and left for that sentence when the call is close."""
    document = prepare(CONNECTIVE_ARTICLE)
    but, _, tickets = _indices(document)
    ranking = [but, tickets, *range(len(document))]
    scores = [1.0] * len(document)
    scores[but] = 2.0
    assert select(document, ranking, 1, None, scores=scores) == [but]
    scores[but] = 1.05
    assert select(document, ranking, 1, None, scores=scores) == [tickets]
    # Without comparable scores (Lead-3, sumy's methods) it never stands alone.
    assert select(document, ranking, 1, None) == [tickets]
    assert select(document, ranking, 1, None, scores=[2.0] * len(document)) == [tickets]


def test_a_pronoun_subject_never_stands_alone_whatever_its_score() -> None:
    """'It will run two crossings...' does not say what runs them: no score margin takes it
    alone."""
    document = prepare(CONNECTIVE_ARTICLE)
    _, it, tickets = _indices(document)
    scores = [1.0] * len(document)
    scores[it] = 100.0
    picked = select(document, [it, tickets, *range(len(document))], 1, None, scores=scores)
    assert picked == [tickets]
    # With room for two, the antecedent comes along when it ranks near the top itself.
    picked = select(document, [it, it - 1, *range(len(document))], 2, None, scores=scores)
    assert picked == [it - 1, it]


def test_the_default_method_gives_comparable_scores() -> None:
    """newsrank hands the selection one positive score per sentence with its ranking."""
    document = prepare(CONNECTIVE_ARTICLE)
    ranking = newsrank(document, 3)
    assert sorted(ranking.order) == list(range(len(document)))
    assert ranking.scores is not None
    assert len(ranking.scores) == len(document)
    assert all(score > 0 for score in ranking.scores)
    assert ranking.scores[ranking.order[0]] == max(ranking.scores)
