"""The ``prose`` filter turns curators' plain text into paragraphs and lists, escaped."""

from __future__ import annotations

from diseases.templatetags.disease_tags import prose


def test_lines_become_paragraphs_and_dash_lines_become_a_list() -> None:
    text = "First line.\n- one\n- two\n\nLast line."
    assert prose(text) == "<p>First line.</p><ul><li>one</li><li>two</li></ul><p>Last line.</p>"


def test_curators_text_is_escaped() -> None:
    assert prose('<script>alert("x")</script>\n- <b>') == (
        "<p>&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;</p><ul><li>&lt;b&gt;</li></ul>"
    )


def test_empty_text_renders_nothing() -> None:
    assert prose("") == "" and prose(None) == ""
