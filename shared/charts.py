"""SVG charts for bulletins and the office pages: matplotlib on Agg, text drawn as paths
(`svg.fonttype: path`) so Chinese shows without fonts on the reader's side, from the CJK font
Debian's fonts-wqy-microhei installs (`font_problem` says when it is missing)."""

import io
import logging
import threading
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import matplotlib

matplotlib.use("Agg")

from matplotlib import font_manager
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

log = logging.getLogger(__name__)

CJK_FONT = "WenQuanYi Micro Hei"
STYLE: Any = {
    "svg.fonttype": "path",
    "font.family": "sans-serif",
    "font.sans-serif": [CJK_FONT, "DejaVu Sans"],
    "axes.unicode_minus": False,
    "svg.hashsalt": "duban",  # the same figures, the same bytes
}
_lock = threading.Lock()  # rc_context is process state: one chart at a time


def font_problem() -> str | None:
    """Why Chinese labels would show as boxes, or None when the CJK font is there."""
    names = {f.name for f in font_manager.fontManager.ttflist}
    if CJK_FONT in names:
        return None
    return (
        f"the CJK font '{CJK_FONT}' is missing: charts will show Chinese as empty boxes; "
        "install Debian's fonts-wqy-microhei (the Dockerfile and .ci/run do)"
    )


def _svg(figure: Figure) -> str:
    out = io.StringIO()
    figure.savefig(out, format="svg", bbox_inches="tight", metadata={"Date": None})
    text = out.getvalue()
    return text[text.index("<svg") :]  # inline: without the XML prolog and doctype


def bars_against(
    title: str, labels: Sequence[str], values: Sequence[float], line: float, line_label: str, unit: str = "%"
) -> str:
    """Bars (each label's value) against a horizontal line (序时进度), as inline SVG."""
    return _bars_against(title, tuple(labels), tuple(values), line, line_label, unit)


@lru_cache(maxsize=256)  # the same figures draw the same chart: pages reload often, figures move monthly
def _bars_against(
    title: str, labels: tuple[str, ...], values: tuple[float, ...], line: float, line_label: str, unit: str
) -> str:
    with _lock, matplotlib.rc_context(STYLE):
        figure = Figure(figsize=(max(4.0, 0.6 * len(labels) + 2), 3.2))
        ax = figure.subplots()
        colours = ["#2e7d32" if v >= line else "#c62828" for v in values]
        ax.bar(list(labels), list(values), color=colours)
        ax.axhline(line, color="#1565c0", linestyle="--", label=f"{line_label} {line:.2f}{unit}")
        ax.set_title(title)
        ax.set_ylabel(unit)
        ax.legend(loc="upper right", fontsize=8)
        ax.tick_params(axis="x", labelrotation=30, labelsize=8)
        return _svg(figure)


def ranking(title: str, labels: Sequence[str], values: Sequence[float]) -> str:
    """Horizontal bars, best at the top, as inline SVG."""
    return _ranking(title, tuple(labels), tuple(values))


@lru_cache(maxsize=256)
def _ranking(title: str, labels: tuple[str, ...], values: tuple[float, ...]) -> str:
    with _lock, matplotlib.rc_context(STYLE):
        figure = Figure(figsize=(6, max(2.0, 0.3 * len(labels) + 1)))
        ax = figure.subplots()
        ax.barh(list(reversed(labels)), list(reversed(values)), color="#1565c0")
        ax.set_title(title)
        ax.set_xlim(0, 100)
        ax.tick_params(axis="y", labelsize=8)
        return _svg(figure)


def lights(counts: dict[str, int]) -> str:
    """The lights as three bars (green, yellow, red), as inline SVG."""
    return _lights(counts["green"], counts["yellow"], counts["red"])


@lru_cache(maxsize=256)
def _lights(green: int, yellow: int, red: int) -> str:
    with _lock, matplotlib.rc_context(STYLE):
        figure = Figure(figsize=(3.2, 2.4))
        ax = figure.subplots()
        ax.bar(
            ["绿灯", "黄灯", "红灯"],
            [green, yellow, red],
            color=["#2e7d32", "#f9a825", "#c62828"],
        )
        ax.set_title("项目红黄绿灯")
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        return _svg(figure)


def warn_if_no_font() -> None:
    if problem := font_problem():
        log.warning("charts: %s", problem)
