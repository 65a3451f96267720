"""The Atom feed of a watchlist: its newest change events, each with its receipt.

Its address holds the watchlist's secret token (``/watch/<token>/feed.atom``),
so a feed reader needs no login and nobody else can guess it; rotating the
token retires the old address. Entry ids are the events' own ids
(``urn:uuid:...``), so a reader never shows one change twice.
"""

from __future__ import annotations

from collections.abc import Callable

from django.utils.feedgenerator import Atom1Feed
from django.utils.html import format_html
from django.utils.safestring import SafeString

from .models import ChangeEvent, Watchlist
from .queries import event_paths, recent_events


def _entry_html(event: ChangeEvent) -> SafeString:
    """The entry's summary: the change and the receipt behind it, escaped."""
    text = format_html("<p>{}</p>", event.summary)
    if event.date:
        text += format_html("<p>Date: {}</p>", event.date)
    if event.source_title:
        cited = (
            format_html('<a href="{}">{}</a>', event.source_url, event.source_title)
            if event.source_url
            else format_html("{}", event.source_title)
        )
        if event.citation_locator:
            cited += format_html(" ({})", event.citation_locator)
        text += format_html("<p>Source: {}</p>", cited)
        if event.citation_quote:
            text += format_html("<blockquote>{}</blockquote>", event.citation_quote)
    return text


def watchlist_feed(
    watchlist: Watchlist, *, absolute: Callable[[str], str], feed_path: str, page_path: str
) -> Atom1Feed:
    """The feed, with links made absolute by ``absolute`` (the request's own address)."""
    feed = Atom1Feed(
        title=f"Receipts: {watchlist.name}",
        link=absolute(page_path),
        description=f"Changes to the ties of the entities on the watchlist {watchlist.name}.",
        feed_url=absolute(feed_path),
        # Stable across token rotations, and not the secret address itself.
        feed_guid=absolute(page_path),
        author_name="Receipts",
        language="en",
    )
    events = recent_events(watchlist)
    paths = event_paths(events)
    for event in events:
        feed.add_item(
            title=event.summary,
            link=absolute(paths[event.pk]),
            description=_entry_html(event),
            unique_id=f"urn:uuid:{event.uid}",
            pubdate=event.occurred_at,
            updateddate=event.occurred_at,
            categories=[event.kind],
        )
    return feed
