"""An animation's data as a self-contained HTML player: play, pause, step, and a slider.

The player holds the animated SVG (`animation_svg`) with its CSS animation switched off;
a few lines of script show one frame group at a time. Nothing is fetched: the page works
offline, in a report, or as a Jupyter output (`ConvAnimation._repr_html_`).

>>> from stridekit.viz.animation import animate_conv
>>> page = animation_html(animate_conv(5, 3, stride=2, padding=1))
>>> page.startswith("<!doctype html>"), 'data-act="play"' in page, "http" in page.replace(
...     "http://www.w3.org/2000/svg", "")
(True, True, False)
"""

from __future__ import annotations

from html import escape

from stridekit.viz.animation_data import AnimationData
from stridekit.viz.animation_svg import animation_svg, prefix

SCRIPT = """
(function () {
  var root = document.currentScript ? document.currentScript.parentNode
                                    : document.getElementById("%(p)s-player");
  var frames = root.querySelectorAll(".%(p)s-f");
  var slider = root.querySelector("input");
  var label = root.querySelector(".%(p)s-label");
  var play = root.querySelector('[data-act="play"]');
  var current = 0, timer = null;
  function show(i) {
    frames[current].classList.remove("%(p)s-on");
    current = (i + frames.length) %% frames.length;
    frames[current].classList.add("%(p)s-on");
    slider.value = current;
    label.textContent = (current + 1) + "/" + frames.length + ": "
      + frames[current].getAttribute("data-caption");
  }
  function stop() { clearInterval(timer); timer = null; play.textContent = "play"; }
  root.querySelector('[data-act="prev"]').onclick = function () { stop(); show(current - 1); };
  root.querySelector('[data-act="next"]').onclick = function () { stop(); show(current + 1); };
  play.onclick = function () {
    if (timer) { stop(); return; }
    play.textContent = "pause";
    timer = setInterval(function () { show(current + 1); }, %(interval)d);
  };
  slider.oninput = function () { stop(); show(parseInt(slider.value, 10)); };
  show(0);
})();
"""


def player(movie: AnimationData) -> str:
    """The player as an HTML fragment (a ``<div>`` with its style and script)."""
    p = prefix(movie)
    style = (
        f"#{p}-player .{p}-f{{animation:none;opacity:0}}"
        f"#{p}-player .{p}-f.{p}-on{{opacity:1}}"
        f"#{p}-player button{{margin-right:4px}}"
        f"#{p}-player .{p}-label{{margin-left:8px;font-family:sans-serif}}"
    )
    controls = (
        '<div><button data-act="prev" title="previous frame">&#9664; step</button>'
        '<button data-act="play">play</button>'
        '<button data-act="next" title="next frame">step &#9654;</button>'
        f'<input type="range" min="0" max="{len(movie.frames) - 1}" value="0" '
        'aria-label="frame"/>'
        f'<span class="{p}-label"></span></div>'
    )
    script = SCRIPT % {"p": p, "interval": round(1000 / movie.fps)}
    return (
        f'<div id="{p}-player"><style>{style}</style>\n{animation_svg(movie)}'
        f"{controls}\n<script>{script}</script></div>"
    )


def animation_html(movie: AnimationData) -> str:
    """A whole page: the player and nothing else."""
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(movie.title)}</title></head>\n<body>\n{player(movie)}\n</body></html>\n"
    )
