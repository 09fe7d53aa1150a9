"""The charts bulletins and pages draw: SVG whose text is paths (Chinese needs no font to read),
the same figures giving the same bytes, and a clear start-up warning when the CJK font is gone."""

import logging

import pytest
from matplotlib import font_manager

from shared import charts


def test_a_chart_is_inline_svg_with_its_chinese_drawn_as_paths() -> None:
    svg = charts.bars_against("区域完成率", ["栾川县", "嵩县"], [55.0, 20.0], 41.67, "序时进度")
    assert svg.startswith("<svg") and "<text" not in svg and "<path" in svg
    assert svg == charts.bars_against("区域完成率", ["栾川县", "嵩县"], [55.0, 20.0], 41.67, "序时进度")
    assert svg != charts.bars_against("区域完成率", ["栾川县", "嵩县"], [56.0, 20.0], 41.67, "序时进度")


def test_a_missing_cjk_font_is_named_at_start_up(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    assert charts.font_problem() is None  # .ci/run and make test install fonts-wqy-microhei
    kept = [f for f in font_manager.fontManager.ttflist if f.name != charts.CJK_FONT]
    monkeypatch.setattr(font_manager.fontManager, "ttflist", kept)
    with caplog.at_level(logging.WARNING, logger="shared.charts"):
        charts.warn_if_no_font()
    assert "fonts-wqy-microhei" in caplog.text and charts.CJK_FONT in caplog.text
