"""newsrank: how sentences are compared."""

from __future__ import annotations

from summarizer import Article, prepare
from summarizer.rank import _matrices


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
