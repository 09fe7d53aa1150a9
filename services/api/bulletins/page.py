"""A bulletin as a web page: its figures, SVG charts (shared.charts) and print CSS."""

from typing import Any

from services.api.office.render import render
from shared import charts


def charts_of(document: dict[str, Any]) -> dict[str, Any]:
    """The bulletin's charts as inline SVG."""
    found: dict[str, Any] = {"groups": []}
    totals = document.get("totals")
    if totals:
        schedule = float(totals["schedule_percent"])
        for key, label, rows in (
            ("category", "category", document["by_category"]),
            ("region", "name", document["by_region"]),
        ):
            found[key] = charts.bars_against(
                "分类完成率" if key == "category" else "区域完成率",
                [r[label] for r in rows],
                [float(r["completion_percent"]) for r in rows],
                schedule,
                "序时进度",
            )
        found["lights"] = charts.lights(document["lights"])
    for group in document["groups"]:
        rows = group["ranking"][:30]
        found["groups"].append(
            charts.ranking(group["name"], [r["name"] for r in rows], [float(r["score"]) for r in rows])
        )
    return found


def title_of(document: dict[str, Any]) -> str:
    if "month" in document:
        year, month = document["month"][:4], int(document["month"][5:])
        return f"{document['program_name']} {year}年{month}月通报"
    return f"{document['program_name']} {document['round_name']}通报"


def html(document: dict[str, Any]) -> str:
    """The standalone page (the .html download)."""
    return render("bulletin.html", b=document, charts=charts_of(document), title=title_of(document))
