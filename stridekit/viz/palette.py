"""The colours of stride pictures: one colour per kind of cell, the same in every format.

Taps and the output they fill share the strong colour (Okabe & Ito's orange, readable
with any colour vision); pixels no window reads are red; padding is grey.

>>> PALETTE["tap"], rgb("#E69F00")
('#E69F00', (230, 159, 0))
"""

from __future__ import annotations

PALETTE: dict[str, str] = {
    "background": "#FFFFFF",
    "text": "#222222",
    "grid": "#8A8A8A",
    "real": "#CFE2F3",  # a pixel of the input
    "padding": "#E3E3E3",  # a padding cell (zeros, or ignored by max pooling)
    "implicit": "#F4F4F4",  # ceil mode's window reaching past the padding
    "unread": "#F08A8A",  # a real pixel no output reads
    "output": "#D9EAD3",  # a cell of the output
    "tap": "#E69F00",  # what the current window reads
    "now": "#E69F00",  # the output cell it fills
    "span": "#7A4A00",  # the outline of the current window
    "merge": "#009E73",  # branches that meet aligned
    "misaligned": "#D55E00",  # branches whose field centres differ
}

# what the legend says for each kind of cell
LEGEND: dict[str, str] = {
    "real": "input pixel",
    "padding": "padding",
    "implicit": "past the padding (ceil mode)",
    "unread": "never read",
    "tap": "read by the current output",
    "output": "output",
}


def rgb(colour: str) -> tuple[int, int, int]:
    """``#RRGGBB`` as a triple of integers."""
    value = colour.lstrip("#")
    return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)
