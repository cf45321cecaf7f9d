"""People's text (labels, reasons, SQL in error messages) shows as written in Markdown elements
and in plotly text: no link, image, HTML, colour or maths comes out of it."""

from __future__ import annotations

import re

import pytest

from ui.format import chart_text, escape_markdown

HOSTILE = [
    "<script>alert(1)</script>", "[click](javascript:alert(1))", "![x](http://evil/t.png)",
    ":red[**loud**]", "# heading", "`code` $x^2$", "&lt;b&gt;", "1. list", "> quote",
    "see https://evil.example/p.png now", "www.evil.example", "mail ops@evil.example",
    "(https://evil.example)", "a ``tick`` https://x.example/`y`", "MQL → SAL :material/home:",
]
_CODE_SPAN = re.compile(r"(`+)(.+?)\1")


def _read(markdown: str) -> tuple[str, str]:
    """(what a reader sees, the text outside code spans), by CommonMark's rules for backslash
    escapes and code spans: the only Markdown the escaped text may contain."""
    seen, outside, i = [], [], 0
    while i < len(markdown):
        char = markdown[i]
        if char == "\\" and i + 1 < len(markdown):
            seen.append(markdown[i + 1])
            outside.append(markdown[i:i + 2])
            i += 2
            continue
        if char == "`":
            fence = re.match(r"`+", markdown[i:]).group()
            close = re.compile(rf"(?<!`){fence}(?!`)").search(markdown, i + len(fence))
            assert close, f"unclosed code span in {markdown!r}"
            inner = markdown[i + len(fence):close.start()]
            if len(inner) > 2 and inner[0] == inner[-1] == " ":
                inner = inner[1:-1]
            seen.append(inner)
            outside.append(" ")
            i = close.end()
            continue
        seen.append(char)
        outside.append(char)
        i += 1
    return "".join(seen), "".join(outside)


@pytest.mark.parametrize("text", HOSTILE)
def test_markdown_text_has_no_active_syntax_and_reads_as_written(text):
    escaped = escape_markdown(text)
    seen, outside = _read(escaped)
    for i, char in enumerate(outside):
        if char in "<>[]()!*:`$#&" and (i == 0 or outside[i - 1] != "\\"):
            pytest.fail(f"unescaped {char!r} in {escaped!r}")
    assert seen == text


@pytest.mark.parametrize("text", ["https://evil.example/p.png", "www.evil.example",
                                  "ops@evil.example", "mailto:ops@evil.example"])
def test_words_markdown_would_auto_link_are_code_spans(text):
    # GitHub Markdown links these after escapes are resolved, so escaping alone let them through.
    escaped = escape_markdown(f"label {text} end")
    assert not re.search(r"https?://|www\.|@", _read(escaped)[1].replace("\\", "")), escaped


@pytest.mark.parametrize("text", ['<a href="https://evil.example">x</a>', "<b>bold</b><br>",
                                  "&amp; entity"])
def test_chart_text_shows_plotly_markup_instead_of_following_it(text):
    shown = chart_text(text)
    assert "<" not in shown and ">" not in shown
    assert shown.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"') \
        .replace("&#x27;", "'").replace("&amp;", "&") == text
