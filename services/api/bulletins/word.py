"""A bulletin as a 通报 draft in the 公文 layout of GB/T 9704: red 发文机关标志, 发文字号
〔YYYY〕N号, a red rule, the title, sections 一、二、三 written from the figures and the annex
tables — rendered with docxtpl from the program's own 红头 template or the default one below."""

import io
from functools import cache
from typing import Any

from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt, RGBColor
from docx.text.paragraph import Paragraph
from docxtpl import DocxTemplate

RED = RGBColor(0xFF, 0x00, 0x00)
REQUIRED = ("issuer", "number", "title", "sections")  # a template without one of these is refused
FIELDS = {*REQUIRED, "date", "program", "period", "annex_title", "annex_headers", "annex_rows"}


class TemplateFault(ValueError):
    """An uploaded template this cannot fill: `faults` are (field, what is wrong)."""

    def __init__(self, faults: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{f}: {m}" for f, m in faults))
        self.faults = faults


def _font(
    paragraph: Paragraph,
    size: float,
    *,
    bold: bool = False,
    color: RGBColor | None = None,
    face: str = "仿宋",
) -> None:
    for run in paragraph.runs:
        run.font.size = Pt(size)
        run.font.bold = bold
        run.font.name = face
        run._element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), face)
        if color is not None:
            run.font.color.rgb = color


def _red_rule(paragraph: Paragraph) -> None:
    borders = OxmlElement("w:pBdr")
    bottom = OxmlElement("w:bottom")
    for key, value in (("w:val", "single"), ("w:sz", "18"), ("w:space", "4"), ("w:color", "FF0000")):
        bottom.set(qn(key), value)
    borders.append(bottom)
    paragraph._p.get_or_add_pPr().append(borders)


@cache
def default_template() -> bytes:
    """The default 红头 template, built once: GB/T 9704 margins, the red issuer mark, the number
    over a red rule, the title, the sections and an annex table."""
    doc = Document()
    section = doc.sections[0]
    section.page_height, section.page_width = Mm(297), Mm(210)
    section.top_margin, section.bottom_margin = Mm(37), Mm(35)
    section.left_margin, section.right_margin = Mm(28), Mm(26)
    mark = doc.add_paragraph("{{ issuer }}文件")
    mark.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _font(mark, 36, bold=True, color=RED, face="方正小标宋简体")
    number = doc.add_paragraph("{{ number }}")
    number.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _font(number, 16)
    _red_rule(number)
    title = doc.add_paragraph("{{ title }}")
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _font(title, 22, bold=True, face="方正小标宋简体")
    doc.add_paragraph("{%p for s in sections %}")
    heading = doc.add_paragraph("{{ s.heading }}")
    _font(heading, 16, face="黑体")
    doc.add_paragraph("{%p for text in s.paragraphs %}")
    body = doc.add_paragraph("{{ text }}")
    body.paragraph_format.first_line_indent = Pt(32)
    _font(body, 16)
    doc.add_paragraph("{%p endfor %}")
    doc.add_paragraph("{%p endfor %}")
    signed = doc.add_paragraph("{{ issuer }}")
    signed.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    _font(signed, 16)
    dated = doc.add_paragraph("{{ date }}")
    dated.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    _font(dated, 16)
    annex = doc.add_paragraph("{{ annex_title }}")
    annex.paragraph_format.page_break_before = True
    _font(annex, 16, face="黑体")
    table = doc.add_table(rows=4, cols=6)
    table.style = "Table Grid"
    for i in range(6):
        table.cell(0, i).text = f"{{{{ annex_headers[{i}] }}}}"
    table.cell(1, 0).text = "{%tr for r in annex_rows %}"
    for i in range(6):
        table.cell(2, i).text = f"{{{{ r[{i}] }}}}"
    table.cell(3, 0).text = "{%tr endfor %}"
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def check_template(content: bytes) -> None:
    """Raise TemplateFault naming each required field the template lacks and each field it asks
    for that bulletins do not give; a file that is not a Word document is one fault too."""
    try:
        template = DocxTemplate(io.BytesIO(content))
        used = set(template.get_undeclared_template_variables())
    except Exception as e:  # a zip that is not a .docx, broken XML, a Jinja syntax error: all refusals
        raise TemplateFault(
            [("file", f"not a Word (.docx) template docxtpl can read: {type(e).__name__}")]
        ) from e
    faults = [(f, "missing") for f in REQUIRED if f not in used]
    faults += [(f, "unknown") for f in sorted(used - FIELDS)]
    if faults:
        raise TemplateFault(faults)


def _pct(points: str) -> str:
    value = float(points)
    return f"超前{value:.2f}个百分点" if value >= 0 else f"滞后{-value:.2f}个百分点"


def _names(rows: list[dict[str, Any]]) -> str:
    return "、".join(r["name"] for r in rows)


def monthly_context(document: dict[str, Any], issuer: str) -> dict[str, Any]:
    """What the sections say, written from the bulletin's figures."""
    t, lights = document["totals"], document["lights"]
    year, month = document["month"][:4], int(document["month"][5:])
    overall = [
        f"截至{year}年{month}月底，{document['program_name']}共有项目{t['projects']}个，已开工{t['started']}个，"
        f"未开工{t['not_started']}个；本年累计完成投资{t['investment_year']}万元，占年度计划投资"
        f"{t['annual_plan']}万元的{t['completion_percent']}%，较序时进度（{t['schedule_percent']}%）{_pct(t['ahead_points'])}。",
        f"项目红黄绿灯：绿灯{lights['green']}个，黄灯{lights['yellow']}个，红灯{lights['red']}个。",
    ]
    overall += [
        f"{r['category']}：{r['projects']}个项目，完成投资{r['investment_year']}万元，完成率{r['completion_percent']}%，"
        f"较序时进度{_pct(r['ahead_points'])}。"
        for r in document["by_category"]
    ]
    ranking = []
    for group in document["groups"]:
        said = f"{group['name']}共{len(group['ranking'])}个单位参加排名。"
        if group["red_list"]:
            said += f"列入红榜的是：{_names(group['red_list'])}。"
        if group["black_list"]:
            said += f"列入黑榜的是：{_names(group['black_list'])}。"
        ranking.append(said)
    problems = []
    if document["overdue_reports"]:
        problems.append(
            "逾期未报送的单位："
            + "、".join(f"{r['name']}（{r['overdue']}期）" for r in document["overdue_reports"])
            + "。"
        )
    if document["standing_notices"]:
        problems.append(
            "督办事项尚未办结的单位："
            + "、".join(f"{r['name']}（{r['count']}件）" for r in document["standing_notices"])
            + "。"
        )
    late = [r for r in document["open_problems"] if r["past_deadline"]]
    if late:
        problems.append(
            "问题超期未解决的单位："
            + "、".join(f"{r['name']}（{r['past_deadline']}个）" for r in late)
            + "。"
        )
    if not problems:
        problems.append("本月无逾期未报、超期未办事项。")
    rows = [
        [g["name"], r["rank"], r["name"], r["score"], r["investment_year"], r["completion_percent"]]
        for g in document["groups"]
        for r in g["ranking"]
    ]
    return {
        "issuer": issuer,
        "program": document["program_name"],
        "period": document["month"],
        "title": f"关于{year}年{month}月{document['program_name']}推进情况的通报",
        "date": document["as_of"][:10],
        "sections": [
            {"heading": "一、总体情况", "paragraphs": overall},
            {"heading": "二、排名情况", "paragraphs": ranking},
            {"heading": "三、存在问题", "paragraphs": problems},
            {
                "heading": "四、下步要求",
                "paragraphs": [
                    "各单位要对照序时进度查找差距，列入黑榜和红灯项目的责任单位要制定整改措施，限期整改到位。"
                ],
            },
        ],
        "annex_title": "附件：单位排名情况表",
        "annex_headers": ["分组", "名次", "单位", "得分", "本年完成投资(万元)", "完成率(%)"],
        "annex_rows": rows,
    }


def ranking_context(document: dict[str, Any], issuer: str) -> dict[str, Any]:
    sections = []
    for i, group in enumerate(document["groups"]):
        said = [f"参加排名{len(group['ranking'])}个。"]
        if group["red_list"]:
            said.append(f"予以通报表扬：{_names(group['red_list'])}。")
        if group["black_list"]:
            said.append(f"予以通报批评：{_names(group['black_list'])}。")
        sections.append({"heading": f"{'一二三四五'[i]}、{group['name']}排名", "paragraphs": said})
    if document.get("fairness_notes"):
        sections.append(
            {
                "heading": f"{'一二三四五六'[len(sections)]}、评分说明",
                "paragraphs": document["fairness_notes"],
            }
        )
    rows = [
        [g["name"], r["rank"], r["name"], r["score"], "", ""]
        for g in document["groups"]
        for r in g["ranking"]
    ]
    return {
        "issuer": issuer,
        "program": document["program_name"],
        "period": document["round_name"],
        "title": f"关于{document['program_name']}{document['round_name']}结果的通报",
        "date": document["as_of"][:10],
        "sections": sections,
        "annex_title": "附件：观摩评比排名表",
        "annex_headers": ["类别", "名次", "名称", "综合得分", "", ""],
        "annex_rows": rows,
    }


def render(template: bytes | None, context: dict[str, Any], number: str) -> bytes:
    doc = DocxTemplate(io.BytesIO(template or default_template()))
    doc.render({**context, "number": number}, autoescape=True)
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()
