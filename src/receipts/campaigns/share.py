"""What a shared campaign link carries: its short address and the picture a link preview shows.

The picture is a 1200×630 PNG drawn here with Pillow (its own FreeType font,
no system fonts or libraries), so a preview on a social network shows the
campaign's name, summary and demands met without the site loading anything
from another origin. The short address is the campaign's id in base 36
(``/c/1``, ``/c/2s``): stable, short enough to read aloud, and answering "not
found" exactly as the campaign page does to anyone who may not see it.
"""

from __future__ import annotations

import io
import string

from PIL import Image, ImageDraw, ImageFont

from .models import Campaign

CARD_SIZE = (1200, 630)
MARGIN = 72
INK = "#ffffff"
MUTED = "#c9d2e3"
BACKGROUND = "#1f2a44"
ACCENT = "#f2c14e"
_DIGITS = string.digits + string.ascii_lowercase


def short_code(campaign: Campaign) -> str:
    """The campaign's id in base 36."""
    n = int(campaign.pk)
    code = ""
    while True:
        n, rest = divmod(n, 36)
        code = _DIGITS[rest] + code
        if n == 0:
            return code


def campaign_id_of(code: str) -> int | None:
    """The id a short code names, or None for anything that is not one."""
    code = code.lower()
    if not code or len(code) > 12 or any(c not in _DIGITS for c in code):
        return None
    return int(code, 36)


def _wrap(
    draw: ImageDraw.ImageDraw,
    text: str,
    font: ImageFont.FreeTypeFont | ImageFont.ImageFont,
    width: int,
) -> list[str]:
    """Lines of ``text`` no wider than ``width`` pixels; a word longer than that is cut."""
    lines: list[str] = []
    line = ""
    for word in text.split():
        trial = f"{line} {word}".strip()
        if draw.textlength(trial, font=font) <= width:
            line = trial
            continue
        if line:
            lines.append(line)
        while draw.textlength(word, font=font) > width:
            cut = len(word)
            while cut > 1 and draw.textlength(word[:cut], font=font) > width:
                cut -= 1
            lines.append(word[:cut])
            word = word[cut:]
        line = word
    if line:
        lines.append(line)
    return lines


def _clip(lines: list[str], most: int) -> list[str]:
    """At most ``most`` lines, the last ending in an ellipsis when some were left out."""
    if len(lines) <= most:
        return lines
    kept = lines[:most]
    kept[-1] = kept[-1].rstrip(" .,;:") + "…"
    return kept


def card_png(campaign: Campaign, tally: str, short_url: str) -> bytes:
    """The link-preview picture: name, summary, demands met, and where to find it."""
    image = Image.new("RGB", CARD_SIZE, BACKGROUND)
    draw = ImageDraw.Draw(image)
    width = CARD_SIZE[0] - 2 * MARGIN
    title_font = ImageFont.load_default(size=64)
    body_font = ImageFont.load_default(size=32)
    small_font = ImageFont.load_default(size=28)
    y = MARGIN
    draw.rectangle((MARGIN, y, MARGIN + 120, y + 8), fill=ACCENT)
    y += 40
    for line in _clip(_wrap(draw, campaign.name, title_font, width), 3):
        draw.text((MARGIN, y), line, font=title_font, fill=INK)
        y += 78
    y += 16
    footer_y = CARD_SIZE[1] - MARGIN - 36
    tally_y = footer_y - 52
    # The summary takes what room the title leaves above the tally.
    room = max(0, (tally_y - 16 - y) // 44)
    if campaign.summary and room:
        for line in _clip(_wrap(draw, campaign.summary, body_font, width), room):
            draw.text((MARGIN, y), line, font=body_font, fill=MUTED)
            y += 44
    draw.text((MARGIN, tally_y), tally, font=body_font, fill=ACCENT)
    draw.text((MARGIN, footer_y), f"Receipts · {short_url}", font=small_font, fill=MUTED)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()
