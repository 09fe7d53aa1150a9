"""A bulletin as a print-ready workbook (XlsxWriter): Chinese headers, numbers stored as numbers,
money in 万元 with two decimals, native Excel charts, A4 landscape with print titles."""

import io
from decimal import Decimal
from typing import Any

import xlsxwriter
from xlsxwriter.workbook import Workbook
from xlsxwriter.worksheet import Worksheet


def _num(value: Any) -> Any:
    return float(Decimal(value)) if isinstance(value, str) else value


class _Book:
    def __init__(self, buffer: io.BytesIO) -> None:
        self.book: Workbook = xlsxwriter.Workbook(buffer, {"in_memory": True})
        self.title = self.book.add_format({"bold": True, "font_size": 14})
        self.head = self.book.add_format(
            {"bold": True, "bg_color": "#DDEBF7", "border": 1, "text_wrap": True}
        )
        self.text = self.book.add_format({"border": 1})
        self.money = self.book.add_format({"border": 1, "num_format": "#,##0.00"})
        self.int = self.book.add_format({"border": 1, "num_format": "0"})

    def sheet(self, name: str, heading: str, columns: list[tuple[str, int]]) -> Worksheet:
        ws = self.book.add_worksheet(name)
        ws.set_landscape()
        ws.set_paper(9)  # A4
        ws.fit_to_pages(1, 0)
        ws.repeat_rows(1)  # the header row on every printed page
        ws.write(0, 0, heading, self.title)
        for i, (label, width) in enumerate(columns):
            ws.write(1, i, label, self.head)
            ws.set_column(i, i, width)
        ws.freeze_panes(2, 0)
        return ws

    def rows(self, ws: Worksheet, rows: list[list[Any]], money: set[int]) -> int:
        for r, row in enumerate(rows, start=2):
            for c, value in enumerate(row):
                fmt = self.money if c in money else (self.int if isinstance(value, int) else self.text)
                ws.write(r, c, _num(value) if c in money else value, fmt)
        return len(rows) + 1  # the last row written (0-based)


SHARE = [
    ("项目数", 8),
    ("已开工", 8),
    ("本年完成投资(万元)", 16),
    ("年度计划投资(万元)", 16),
    ("完成率(%)", 10),
    ("较序时进度(百分点)", 14),
]


def _share(row: dict[str, Any]) -> list[Any]:
    return [
        row["projects"],
        row["started"],
        row["investment_year"],
        row["annual_plan"],
        row["completion_percent"],
        row["ahead_points"],
    ]


def monthly(document: dict[str, Any]) -> bytes:
    buffer = io.BytesIO()
    b = _Book(buffer)
    title = f"{document['program_name']} {document['month']} 月度通报"
    t = document["totals"]
    ws = b.sheet("总体情况", title, [("项目", 22), ("数值", 16)])
    totals = [
        ["项目总数", t["projects"]],
        ["已开工", t["started"]],
        ["未开工", t["not_started"]],
        ["本年完成投资(万元)", t["investment_year"]],
        ["年度计划投资(万元)", t["annual_plan"]],
        ["完成率(%)", t["completion_percent"]],
        ["序时进度(%)", t["schedule_percent"]],
        ["较序时进度(百分点)", t["ahead_points"]],
        ["绿灯", document["lights"]["green"]],
        ["黄灯", document["lights"]["yellow"]],
        ["红灯", document["lights"]["red"]],
    ]
    for r, (label, value) in enumerate(totals, start=2):
        ws.write(r, 0, label, b.text)
        ws.write(
            r,
            1,
            _num(value) if isinstance(value, str) else value,
            b.money if isinstance(value, str) else b.int,
        )

    for name, key, rows in (
        ("分类情况", "category", document["by_category"]),
        ("区域情况", "name", document["by_region"]),
    ):
        ws = b.sheet(name, f"{title}·{name}", [("分类" if key == "category" else "区域", 20), *SHARE])
        last = b.rows(ws, [[r[key], *_share(r)] for r in rows], money={3, 4, 5, 6})
        if rows:
            chart = b.book.add_chart({"type": "column"})
            chart.add_series(
                {"name": "完成率(%)", "categories": [name, 2, 0, last, 0], "values": [name, 2, 5, last, 5]}
            )
            line = b.book.add_chart({"type": "line"})
            schedule = float(Decimal(t["schedule_percent"]))
            ws.write(1, 8, "序时进度(%)", b.head)
            for r in range(2, last + 1):
                ws.write(r, 8, schedule, b.money)
            line.add_series(
                {"name": "序时进度(%)", "categories": [name, 2, 0, last, 0], "values": [name, 2, 8, last, 8]}
            )
            chart.combine(line)
            chart.set_title({"name": f"{name}：完成率与序时进度"})
            chart.set_y_axis({"name": "%"})
            ws.insert_chart(last + 2, 0, chart, {"x_scale": 1.6, "y_scale": 1.2})

    ws = b.sheet(
        "单位排名",
        f"{title}·单位排名",
        [
            ("分组", 18),
            ("名次", 6),
            ("单位", 22),
            ("得分", 10),
            ("投资完成", 10),
            ("报送及时", 10),
            ("督办事项", 10),
            ("榜单", 8),
        ],
    )
    ranks: list[list[Any]] = []
    for group in document["groups"]:
        red = {r["unit_id"] for r in group["red_list"]}
        black = {r["unit_id"] for r in group["black_list"]}
        for r in group["ranking"]:
            c = r["components"]
            mark = "红榜" if r["unit_id"] in red else "黑榜" if r["unit_id"] in black else ""
            ranks.append(
                [
                    group["name"],
                    r["rank"],
                    r["name"],
                    r["score"],
                    c["investment"],
                    c["timeliness"],
                    c["notices"],
                    mark,
                ]
            )
    last = b.rows(ws, ranks, money={3, 4, 5, 6})
    if ranks:
        chart = b.book.add_chart({"type": "bar"})
        chart.add_series(
            {"name": "得分", "categories": ["单位排名", 2, 2, last, 2], "values": ["单位排名", 2, 3, last, 3]}
        )
        chart.set_title({"name": "单位得分"})
        chart.set_legend({"none": True})
        ws.insert_chart(2, 9, chart, {"y_scale": max(1.0, len(ranks) / 12)})

    ws = b.sheet(
        "逾期与督办",
        f"{title}·逾期未报、在办督办事项、未解决问题",
        [("单位", 22), ("逾期未报", 10), ("在办督办事项", 12), ("未解决问题", 10), ("其中超期", 10)],
    )
    units: dict[str, list[Any]] = {}
    for r in document["overdue_reports"]:
        units.setdefault(r["unit_id"], [r["name"], 0, 0, 0, 0])[1] = r["overdue"]
    for r in document["standing_notices"]:
        units.setdefault(r["unit_id"], [r["name"], 0, 0, 0, 0])[2] = r["count"]
    for r in document["open_problems"]:
        row = units.setdefault(r["unit_id"], [r["name"], 0, 0, 0, 0])
        row[3], row[4] = r["open"], r["past_deadline"]
    b.rows(ws, sorted(units.values()), money=set())
    b.book.close()
    return buffer.getvalue()


def ranking(document: dict[str, Any]) -> bytes:
    """An observation bulletin: the round's rankings with praise and criticism."""
    buffer = io.BytesIO()
    b = _Book(buffer)
    title = f"{document['program_name']} {document['round_name']} 观摩评比通报"
    for group in document["groups"]:
        name = group["name"][:31]
        ws = b.sheet(
            name, f"{title}·{group['name']}", [("名次", 6), ("名称", 26), ("综合得分", 10), ("榜单", 8)]
        )
        red = {r["unit_id"] for r in group["red_list"]}
        black = {r["unit_id"] for r in group["black_list"]}
        rows = [
            [
                r["rank"],
                r["name"],
                r["score"],
                "表扬" if r["unit_id"] in red else "批评" if r["unit_id"] in black else "",
            ]
            for r in group["ranking"]
        ]
        last = b.rows(ws, rows, money={2})
        if rows:
            chart = b.book.add_chart({"type": "bar"})
            chart.add_series(
                {"name": "综合得分", "categories": [name, 2, 1, last, 1], "values": [name, 2, 2, last, 2]}
            )
            chart.set_legend({"none": True})
            ws.insert_chart(2, 5, chart, {"y_scale": max(1.0, len(rows) / 12)})
    b.book.close()
    return buffer.getvalue()
