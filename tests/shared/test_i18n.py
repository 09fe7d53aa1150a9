"""The catalog: every message the api can say has its Chinese translation, and the labels are the
Excel templates' headers. `make messages` brings the catalog up to date with the code."""

import re

import pytest
from pydantic_core._pydantic_core import list_all_errors

from services.api import catalog
from services.api.projects import excel as project_excel
from services.api.reports import importer as report_import
from shared import i18n
from shared.vocabulary import ConstructionKind, ProjectStage

PLACEHOLDER = re.compile(r"\{(\w+)\}")


@pytest.fixture(scope="module")
def template() -> catalog.Catalog:
    return catalog.template()


def test_every_message_has_a_chinese_translation(template: catalog.Catalog) -> None:
    po = catalog.merged("zh_CN", template)  # what `make messages` would write
    untranslated = [(m.context, m.id) for m in po if m.id and (not m.string or m.fuzzy)]
    assert not untranslated, (
        f"translate these in {i18n.po_path('zh_CN')} (make messages adds them): {untranslated}"
    )
    with i18n.po_path("zh_CN").open("rb") as f:
        on_disk = {(m.context, m.id) for m in catalog.read_po(f) if m.id}
    said = {(m.context, m.id) for m in template if m.id}
    assert on_disk == said, "run `make messages`: the catalog is not in step with the code"


def test_a_translation_fills_only_the_placeholders_its_message_has(template: catalog.Catalog) -> None:
    with i18n.po_path("zh_CN").open("rb") as f:
        po = catalog.read_po(f)
    for m in po:
        if m.id and isinstance(m.id, str):
            extra = set(PLACEHOLDER.findall(m.string)) - set(PLACEHOLDER.findall(m.id))
            assert not extra, f"{m.id!r} -> {m.string!r} uses {extra}"


def test_the_template_holds_what_the_code_marks_and_pydantic_says(template: catalog.Catalog) -> None:
    ids = {m.id for m in template if m.context is None}
    assert "There is no {what} with id {id} that you can see." in ids  # tr(...)
    assert "Not signed in" in ids  # N_(...) on a class
    assert {e["message_template_python"] for e in list_all_errors()} <= ids
    fields = {m.id for m in template if m.context == "field"}
    assert {"investment_month", "progress_percent", "as_of", "page_size"} <= fields


def test_every_pydantic_message_reads_in_chinese_with_its_context_filled() -> None:
    with i18n.use("zh_CN"):
        for error in list_all_errors():
            if error["type"] in ("value_error", "assertion_error"):
                continue  # our own validators' words, said in the locale already
            ctx = {name: "X" for name in PLACEHOLDER.findall(error["message_template_python"])}
            said = i18n.pydantic_message({"type": error["type"], "msg": "?", "ctx": ctx})
            assert "{" not in said and re.search(r"[\u4e00-\u9fff]", said), error["type"]


def test_labels_are_the_excel_templates_headers() -> None:
    for field, header in report_import.COLUMN_OF.items():
        assert i18n.label(field, "zh_CN") == header
    project_only = {"total_investment", "annual_plan", "start_date", "end_date", "category", "construction",
                    "stage", "milestones", "service_team"}  # fmt: skip
    columns = {c.field: c.header for c in project_excel.COLUMNS if c.field in project_only}
    assert len(columns) == len(project_only)
    for field, header in columns.items():
        assert i18n.label(field, "zh_CN") == header
    assert set(project_excel.STAGES.values()) == set(ProjectStage)
    assert set(project_excel.CONSTRUCTION.values()) == set(ConstructionKind)


def test_a_message_is_english_outside_a_request_and_chinese_inside_one() -> None:
    message = "There is no {what} with id {id} that you can see."
    assert (
        i18n.tr(message, what=i18n.tr("project"), id=7) == "There is no project with id 7 that you can see."
    )
    with i18n.use("zh_CN"):
        assert i18n.tr(message, what=i18n.tr("project"), id=7) == "没有您可查看的项目（id 7）。"
        assert i18n.where(["body", "milestones", 1, "actual_date"]) == "主要节点 第 2 项 实际完成日期"
    assert i18n.where(["body", "milestones", 1, "actual_date"]) == "body.milestones.1.actual_date"
