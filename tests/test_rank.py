"""newsrank: how sentences are compared."""

from __future__ import annotations

from summarizer import Article, prepare
from summarizer.rank import _matrices, newsrank

# A short report: a short lead, two long sentences that repeat the story's words, filler.
_FLOOD = (
    "Flooding closed the main bridge in Dunmore on Tuesday.",
    "Residents said the river rose faster than anyone had expected this year.",
    "The river authority said its gauges upstream showed record levels overnight, and that"
    " the water in the river would keep rising around the town until the weekend at least.",
    "Schools in the town stayed open.",
    "The river authority warned that the river levels in the town could stay high for days,"
    " and asked residents near the river to move cars and valuables to higher ground before"
    " the weekend.",
    "A council spokesman said repairs to the bridge would start once the water fell.",
)


def test_sentences_sharing_word_forms_agree_more_than_ones_sharing_stems() -> None:
    """'The councils voted' is closer to 'The councils voted again' than to 'The council
    votes', though all three share the same stems: the same word written the same way is
    stronger evidence that two sentences speak of the same thing."""
    document = prepare(
        Article(
            title="",
            paragraphs=(
                "The harbour councils voted on the budget.",
                "The harbour councils voted on the budget again today.",
                "The harbour council votes on a budget each spring.",
            ),
        )
    )
    with_forms = _matrices(document, 1.0).overlap
    assert with_forms[0, 1] > with_forms[0, 2]
    # Compared on stems alone, the two cannot be told apart.
    stems_only = _matrices(document, 0.0).overlap
    assert stems_only[0, 1] == stems_only[0, 2]


def test_text_without_paragraph_breaks_is_read_as_a_wire_story() -> None:
    """Sent as one block, the short opening sentence makes the three-sentence summary:
    text without paragraph breaks is read lead first. The same sentences in paragraphs
    are ranked by their topic sentences, centrality and length, and the opening, short
    and not central, is left out."""
    block = prepare(Article(title="", paragraphs=(" ".join(_FLOOD),)))
    paragraphs = prepare(
        Article(
            title="",
            paragraphs=(" ".join(_FLOOD[:2]), " ".join(_FLOOD[2:4]), " ".join(_FLOOD[4:])),
        )
    )
    assert 0 in newsrank(block, 3).order[:3]
    assert 0 not in newsrank(paragraphs, 3).order[:3]
