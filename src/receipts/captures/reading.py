"""Reading a captured page: its main text, and the title, publisher and date it gives itself."""

from __future__ import annotations

from dataclasses import dataclass

import trafilatura


@dataclass(frozen=True)
class PageFacts:
    """What a page says about itself; offered to the editor, never saved unconfirmed."""

    title: str = ""
    publisher: str = ""
    published: str = ""


def main_text(html: str) -> str:
    """The page's main text; the whole visible text when no main part stands out."""
    text = trafilatura.extract(html, favor_recall=True, include_comments=False)
    if not text:
        text = trafilatura.html2txt(html) or ""
    return text.strip()


def page_facts(html: str, url: str) -> PageFacts:
    """Title, publisher (site name) and publication date (YYYY-MM-DD) read from the page."""
    meta = trafilatura.extract_metadata(html, default_url=url)
    if meta is None:
        return PageFacts()
    published = (meta.date or "")[:10]
    return PageFacts(
        title=" ".join((meta.title or "").split())[:500],
        publisher=" ".join((meta.sitename or "").split())[:300],
        published=published,
    )
