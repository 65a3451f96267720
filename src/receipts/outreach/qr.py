"""QR codes for flyers, drawn with segno: SVG for the screen and print, PNG for other tools.

The code holds only the flyer's absolute short address (``/f/<code>``), never
anything about a person; error correction M survives a creased flyer.
"""

from __future__ import annotations

import io

import segno


def _qr(url: str) -> segno.QRCode:
    return segno.make(url, error="m", micro=False)


def qr_svg(url: str, *, title: str = "") -> bytes:
    buffer = io.BytesIO()
    _qr(url).save(
        buffer,
        kind="svg",
        scale=8,
        border=4,
        dark="#000",
        light="#fff",
        xmldecl=True,
        title=title or None,
        svgclass="qr",
        lineclass=None,
    )
    return buffer.getvalue()


def qr_png(url: str, *, scale: int = 10) -> bytes:
    buffer = io.BytesIO()
    _qr(url).save(buffer, kind="png", scale=scale, border=4)
    return buffer.getvalue()
