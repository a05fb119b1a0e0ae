"""Bulk import of activities from an Excel workbook (.xlsx).

- `template_workbook(campaign, out)`: the template departments download (a data sheet with
  drop-down lists, an instructions sheet, a hidden sheet of the lists' choices).
- `activity_import_start(...)`: the upload. Stores the file, creates the import job, and starts
  `activities.tasks.run_activity_import` once the transaction commits.
- `activity_import_run(job_id)`: the task's work. Reads the rows (openpyxl read-only), checks
  every row, then creates the activities through `activity_create` (drafts, audit-logged).
- `annotated_workbook(job, out)`: the uploaded rows with every error marked on its cell, an
  errors column and an errors sheet (openpyxl write-only).

Every row is checked by the rules of the web form: the row is built into the fields
`activity_create` takes and checked with the services' heading check and `Activity.full_clean()`;
nothing here restates a rule of the model. Only turning a cell into a value (a code into a region,
"是" into True, text into a date) happens here.

The workbook speaks Chinese and English side by side, whatever the reader's language, and its
headers are a file format that must still be read next year: they are literals, not translated
strings. Messages about rows are stored in both languages (`bilingual`), so the page shows them in
the reader's language and the annotated file in both.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import zipfile
from collections import defaultdict
from dataclasses import dataclass, field
from typing import IO, Any

from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _
from openpyxl import Workbook, load_workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.utils.datetime import from_excel
from openpyxl.worksheet.datavalidation import DataValidation

from accounts.rules import roles_of
from qualitymonth.audit import audit_log
from qualitymonth.errors import DomainError, NotAllowed

from .enums import ActivityStatus
from .models import (
    Activity,
    ActivityImport,
    ActivityImportMode,
    ActivityImportStatus,
    Campaign,
    ContentArea,
    Department,
    KeyArrangement,
    Region,
)
from .reference_data import MUNICIPALITY_PREFIXES
from .selectors import campaign_current
from .services import activity_check_headings, activity_create

logger = logging.getLogger(__name__)

MAX_UPLOAD_BYTES = 10 * 1024 * 1024
MAX_ROWS = 10_000
# The task saves its progress (rows checked, errors so far) every this many rows.
PROGRESS_EVERY = 100
# The page lists at most this many errors; the annotated file holds them all.
ERRORS_SHOWN = 500

DATA_SHEET = "活动 Activities"
INSTRUCTIONS_SHEET = "说明 Instructions"
LISTS_SHEET = "选项 Lists"
ERRORS_SHEET = "错误 Errors"
ERRORS_HEADER = "错误 Errors"
# The template names its campaign in the workbook's keywords ("qualitymonth-activities:2024").
KEYWORDS_PREFIX = "qualitymonth-activities:"
YES, NO = "是 Yes", "否 No"
LANGUAGES = ("zh-hans", "en")
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

RED = "A61B1B"
HEADER_FONT = Font(bold=True, color="FFFFFF")
REQUIRED_FILL = PatternFill("solid", fgColor=RED)
OPTIONAL_FILL = PatternFill("solid", fgColor="4A5563")
ERROR_FILL = PatternFill("solid", fgColor="FFC7CE")
ERROR_FONT = Font(color="9C0006")
WRAP = Alignment(wrap_text=True, vertical="top")
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"


# --- messages in both languages ----------------------------------------------------------------


def bilingual(message, params: dict | None = None) -> dict[str, str]:
    """`message` (a lazily translated string) rendered in Chinese and in English."""
    rendered = {}
    for language in LANGUAGES:
        with translation.override(language):
            # A lazy plural message picks its form from `params`: format before rendering.
            rendered[language] = str(message % params) if params else str(message)
    return rendered


def in_language(message: dict[str, str] | None, language: str | None = None) -> str:
    """The reader's language out of a stored bilingual message."""
    if not message:
        return ""
    language = (language or translation.get_language() or settings.LANGUAGE_CODE).lower()
    key = "en" if language.startswith("en") else "zh-hans"
    return message.get(key) or next(iter(message.values()), "")


def both_languages(message: dict[str, str]) -> str:
    """Chinese, then English when it says something else (an untranslated message once)."""
    zh, en = message.get("zh-hans", ""), message.get("en", "")
    return zh if zh == en or not en else f"{zh}\n{en}"


# --- the columns ---------------------------------------------------------------------------------

TEXT, LONG_TEXT, PHONE = "text", "long_text", "phone"
ARRANGEMENT, AREA, REGION, DEPARTMENTS = "arrangement", "area", "region", "departments"
DATETIME, YES_NO, INTEGER = "datetime", "yes_no", "integer"


@dataclass(frozen=True)
class Column:
    """A column of the data sheet: an Activity field (or one content area), its bilingual header
    and what staff are told to enter."""

    key: str
    zh: str
    en: str
    kind: str
    help_zh: str
    help_en: str
    width: int = 18
    number: int | None = None  # content area columns: the area's number

    @property
    def header(self) -> str:
        return f"{self.zh} {self.en}"

    @property
    def required(self) -> bool:
        # Required exactly when the model requires the field (one source of the rule).
        if self.key in ("content_areas", "co_organisers"):
            return False
        model_field = Activity._meta.get_field(self.key)
        return not model_field.blank and not model_field.has_default()


# Content area columns go right after the key arrangement (one column per area of the campaign).
FIELD_COLUMNS = (
    Column(
        "title",
        "活动名称",
        "Title",
        TEXT,
        "必填，不超过200字。",
        "Required, at most 200 characters.",
        36,
    ),
    Column(
        "key_arrangement",
        "重点安排",
        "Key arrangement",
        ARRANGEMENT,
        "必填。从下拉列表中选择，也可以只填编号（如 3）。",
        "Required. Choose from the drop-down list, or type just its number (e.g. 3).",
        32,
    ),
    Column(
        "summary",
        "活动简介",
        "Summary",
        TEXT,
        "面向企业和公众的简短介绍，不超过500字；提交审核前须填写。",
        "A short summary for enterprises and the public, at most 500 characters; "
        "needed before submitting for review.",
        36,
    ),
    Column(
        "description",
        "详细介绍",
        "Description",
        LONG_TEXT,
        "活动的详细内容、议程等。",
        "The full description: programme, speakers and so on.",
        40,
    ),
    Column(
        "region",
        "地区",
        "Region",
        REGION,
        "必填。从下拉列表中选择，或填写6位行政区划代码（GB/T 2260），如 110000。",
        "Required. Choose from the drop-down list, or type the six-digit GB/T 2260 code, "
        "e.g. 110000.",
        30,
    ),
    Column(
        "venue",
        "活动地点",
        "Venue",
        TEXT,
        "活动地点和线上链接至少填写一项。",
        "Give a venue, an online link, or both.",
        30,
    ),
    Column(
        "online_url",
        "线上链接",
        "Online link",
        TEXT,
        "以 https:// 开头的网址。",
        "A web address starting with https://.",
        30,
    ),
    Column(
        "starts_at",
        "开始时间",
        "Starts",
        DATETIME,
        "必填。北京时间，格式如 {year}-09-10 09:00。",
        "Required. Beijing time, written like {year}-09-10 09:00.",
        18,
    ),
    Column(
        "ends_at",
        "结束时间",
        "Ends",
        DATETIME,
        "必填，须晚于开始时间。格式如 {year}-09-10 17:00。",
        "Required, after the start. Written like {year}-09-10 17:00.",
        18,
    ),
    Column(
        "signup_enabled",
        "企业可报名",
        "Enterprises may sign up",
        YES_NO,
        "选“是”时须填写报名开始和报名截止时间。留空为“否”。",
        "With 是 Yes, say when sign-up opens and closes. Empty means 否 No.",
        16,
    ),
    Column(
        "capacity",
        "名额（企业数）",
        "Capacity (enterprises)",
        INTEGER,
        "可报名的企业数量，至少为1；留空表示不限。",
        "How many enterprises can sign up: a whole number of at least 1; empty means no limit.",
        16,
    ),
    Column(
        "signup_opens_at",
        "报名开始",
        "Sign-up opens",
        DATETIME,
        "须早于活动结束时间。格式如 {year}-08-20 09:00。",
        "Before the activity ends. Written like {year}-08-20 09:00.",
        18,
    ),
    Column(
        "signup_closes_at",
        "报名截止",
        "Sign-up closes",
        DATETIME,
        "须晚于报名开始，且不晚于活动结束时间。",
        "After sign-up opens and no later than the end of the activity.",
        18,
    ),
    Column(
        "attendees_per_enterprise",
        "每家企业参加人数",
        "Attendees per enterprise",
        INTEGER,
        "每家企业最多可派几人参加，至少为1；留空为2。",
        "How many people each enterprise may send, at least 1; empty means 2.",
        16,
    ),
    Column(
        "contact_name",
        "联系人",
        "Contact person",
        TEXT,
        "公开的联系人；提交审核前须填写联系人及电话或邮箱。",
        "The public contact; before submitting for review give a name and a telephone "
        "number or an email.",
        16,
    ),
    Column(
        "contact_phone",
        "联系电话",
        "Contact telephone",
        PHONE,
        "如 010-12345678 或 13800138000。",
        "E.g. 010-12345678 or 13800138000.",
        18,
    ),
    Column(
        "contact_email",
        "联系邮箱",
        "Contact email",
        TEXT,
        "如 zhiliangyue@example.cn。",
        "E.g. zhiliangyue@example.cn.",
        26,
    ),
    Column(
        "no_fee_declared",
        "承诺不收取任何费用",
        "No fee is charged",
        YES_NO,
        "选“是”即承诺不以任何形式直接或间接向企业收取费用。草稿可暂不承诺，提交审核前必须承诺。",
        "是 Yes declares that enterprises are charged no fee of any kind, directly or "
        "indirectly. A draft may leave it for now; it is required before submitting for review.",
        18,
    ),
    Column(
        "co_organisers",
        "协办单位",
        "Co-organisers",
        DEPARTMENTS,
        "其他部门（单位）的全称或简称，多个用分号“；”分隔。",
        "Other departments by full or short name, separated by semicolons.",
        30,
    ),
)


def area_column(area_number: int) -> Column:
    return Column(
        "content_areas",
        f"活动内容{area_number}",
        f"Content area {area_number}",
        AREA,
        "属于该项活动内容的选“是”，可选多项；留空为“否”。",
        "是 Yes for each content area the activity serves (several allowed); empty means 否 No.",
        18,
        number=area_number,
    )


def template_columns(campaign: Campaign) -> list[Column]:
    """The data sheet's columns for `campaign`: its content areas get one column each."""
    areas = [area_column(a.number) for a in campaign.content_areas.order_by("number")]
    return [FIELD_COLUMNS[0], FIELD_COLUMNS[1], *areas, *FIELD_COLUMNS[2:]]


def _column_header(column: Column, areas: dict[int, ContentArea]) -> str:
    if column.kind == AREA and column.number in areas:
        # The area's title makes the column readable without the instructions sheet.
        return f"{column.zh} {column.en}\n{areas[column.number].title_zh}"
    return column.header


def _normalise(text: str) -> str:
    return re.sub(r"[\s*＊]+", "", text).casefold()


_HEADER_LOOKUP = {
    variant: column
    for column in FIELD_COLUMNS
    for variant in (_normalise(column.header), _normalise(column.zh), _normalise(column.en))
}
_AREA_HEADER = re.compile(r"活动内容\s*(\d+)|content\s*area\s*(\d+)", re.IGNORECASE)


def column_for_header(text: Any) -> Column | None:
    """The column a header cell names, by its Chinese or English label (or both)."""
    if text is None:
        return None
    text = str(text).strip()
    if not text:
        return None
    first_line = text.splitlines()[0]
    found = _HEADER_LOOKUP.get(_normalise(first_line)) or _HEADER_LOOKUP.get(_normalise(text))
    if found:
        return found
    area = _AREA_HEADER.search(first_line)
    if area:
        return area_column(int(area.group(1) or area.group(2)))
    return None


# --- reading cells ---------------------------------------------------------------------------


class CellError(Exception):
    """A cell that cannot be turned into a value; `message` is translated lazily."""

    def __init__(self, message, params: dict | None = None):
        super().__init__(message)
        self.message = message
        self.params = params


def _is_empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    return str(value).strip()


_YES = {"是", "yes", "y", "true", "1", "√", "✓", "✔", "对"}
_NO = {"否", "no", "n", "false", "0", "×", "✗", "x", "不"}


def _yes_no(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    text = str(value).strip().casefold()
    first = text.split()[0] if text.split() else text
    if text in _YES or first in _YES:
        return True
    if text in _NO or first in _NO:
        return False
    raise CellError(_("Answer 是 Yes or 否 No (choose from the list)."))


def _integer(value: Any) -> int:
    if isinstance(value, bool):
        raise CellError(_("Enter a whole number, e.g. 50."))
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    text = str(value).strip().replace(",", "")
    if re.fullmatch(r"[+-]?\d+", text):
        return int(text)
    raise CellError(_("Enter a whole number, e.g. 50."))


_DATETIME_FORMATS = (
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%dT%H:%M:%S",
    "%Y/%m/%d %H:%M",
    "%Y/%m/%d %H:%M:%S",
    "%Y.%m.%d %H:%M",
    "%Y年%m月%d日 %H:%M",
    "%Y年%m月%d日%H:%M",
    "%Y年%m月%d日 %H时%M分",
    "%Y-%m-%d",
    "%Y/%m/%d",
    "%Y年%m月%d日",
)


def _datetime(value: Any) -> dt.datetime:
    """A cell's date and time, read as Beijing time (the portal's time zone)."""
    moment = None
    if isinstance(value, dt.datetime):
        moment = value
    elif isinstance(value, dt.date):
        moment = dt.datetime.combine(value, dt.time())
    elif isinstance(value, int | float) and not isinstance(value, bool):
        # A date typed into a cell formatted as a plain number: Excel's serial day number.
        if 1 <= value < 2958466:
            moment = from_excel(value)
    elif isinstance(value, str):
        text = re.sub(r"\s+", " ", value.strip().replace("：", ":"))
        for pattern in _DATETIME_FORMATS:
            try:
                moment = dt.datetime.strptime(text, pattern)
                break
            except ValueError:
                continue
    if not isinstance(moment, dt.datetime):
        raise CellError(
            _("Enter a date and time such as %(example)s (year-month-day hour:minute)."),
            {"example": "2024-09-10 09:00"},
        )
    if timezone.is_aware(moment):
        return moment
    return timezone.make_aware(moment.replace(microsecond=0), timezone.get_default_timezone())


def region_label(region: Region, by_id: dict[int, Region]) -> str:
    """The code and the names from the province down, e.g. "110101 北京市 东城区" (the list's)."""
    names = [region.name_zh]
    parent = by_id.get(region.parent_id)
    while parent is not None:
        # Municipalities group their districts under a pseudo-city ("北京市市辖区"): skip it.
        if not (parent.level == "city" and parent.code[:2] in MUNICIPALITY_PREFIXES):
            names.append(parent.name_zh)
        parent = by_id.get(parent.parent_id)
    return f"{region.code} {' '.join(reversed(names))}"


def arrangement_label(arrangement: KeyArrangement) -> str:
    return f"{arrangement.number}. {arrangement.title_zh}"


class Lookups:
    """Reference data of one campaign, loaded once per import, to turn cells into objects."""

    def __init__(self, campaign: Campaign):
        self.campaign = campaign
        self.arrangements = {a.number: a for a in campaign.key_arrangements.all()}
        self.arrangement_titles = {}
        for a in self.arrangements.values():
            for title in (a.title_zh, a.title_en, arrangement_label(a)):
                if title:
                    self.arrangement_titles[_normalise(title)] = a
        self.areas = {a.number: a for a in campaign.content_areas.all()}
        self._regions: dict[str, Region] | None = None
        self._region_labels: dict[str, Region] | None = None
        self._departments: dict[str, list[Department]] | None = None

    # Regions and departments are loaded only when a row needs them.
    @property
    def regions(self) -> dict[str, Region]:
        if self._regions is None:
            self._regions = {r.code: r for r in Region.objects.all()}
        return self._regions

    def region_labels(self) -> dict[str, Region]:
        if self._region_labels is None:
            by_id = {r.pk: r for r in self.regions.values()}
            self._region_labels = {
                _normalise(region_label(r, by_id)): r for r in self.regions.values()
            }
        return self._region_labels

    def arrangement(self, value: Any) -> KeyArrangement:
        number = None
        if isinstance(value, int | float) and not isinstance(value, bool):
            number = int(value) if float(value).is_integer() else None
        else:
            text = str(value).strip()
            match = re.match(r"^(\d+)(?:\s*[.．、:：)]|\s|$)", text)
            if match:
                number = int(match.group(1))
            else:
                found = self.arrangement_titles.get(_normalise(text))
                if found:
                    return found
        if number is not None and number in self.arrangements:
            return self.arrangements[number]
        raise CellError(
            _(
                "Unknown key arrangement “%(value)s”: choose one of the %(count)s key "
                "arrangements of the %(year)s campaign from the list."
            ),
            {"value": _text(value), "count": len(self.arrangements), "year": self.campaign.year},
        )

    def region(self, value: Any) -> Region:
        text = _text(value)
        match = re.match(r"^(\d{6})(?!\d)", text)
        if match:
            region = self.regions.get(match.group(1))
            if region is None:
                raise CellError(
                    _(
                        "There is no region with the code %(code)s: choose a region from the "
                        "list or type its six-digit GB/T 2260 code."
                    ),
                    {"code": match.group(1)},
                )
            return region
        region = self.region_labels().get(_normalise(text))
        if region is None:
            raise CellError(
                _(
                    "Unknown region “%(value)s”: choose a region from the list or type its "
                    "six-digit GB/T 2260 code, e.g. 110000."
                ),
                {"value": text},
            )
        return region

    def area(self, number: int) -> ContentArea:
        if number not in self.areas:
            raise CellError(
                _("The %(year)s campaign has no content area %(number)s."),
                {"year": self.campaign.year, "number": number},
            )
        return self.areas[number]

    def departments(self, value: Any) -> list[Department]:
        if self._departments is None:
            self._departments = defaultdict(list)
            for d in Department.objects.filter(is_active=True):
                for name in {d.name_zh, d.name_en, d.short_name_zh, d.short_name_en} - {""}:
                    self._departments[_normalise(name)].append(d)
        found = []
        for name in re.split(r"[;；,，、\n]+", _text(value)):
            name = name.strip()
            if not name:
                continue
            matches = self._departments.get(_normalise(name), [])
            if not matches:
                raise CellError(
                    _("Unknown department “%(name)s”: give its full name as the portal lists it."),
                    {"name": name},
                )
            if len(matches) > 1:
                raise CellError(
                    _("“%(name)s” names several departments: give the full name."),
                    {"name": name},
                )
            if matches[0] not in found:
                found.append(matches[0])
        return found


# --- a row ---------------------------------------------------------------------------------------


@dataclass
class Problem:
    """An error in a row: the column it belongs to (None: the row as a whole) and the message."""

    column: int | None
    field: str | None
    message: dict[str, str]


@dataclass
class ParsedRow:
    number: int  # the row number in the sheet, as Excel shows it
    fields: dict[str, Any] = field(default_factory=dict)
    content_areas: list[ContentArea] = field(default_factory=list)
    co_organisers: list[Department] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


@dataclass
class Layout:
    """Where each column is in an uploaded sheet (0-based indexes)."""

    headers: list[str]
    columns: dict[int, Column]

    def index_of(self, key: str) -> int | None:
        return next((i for i, c in self.columns.items() if c.key == key), None)

    def area_index(self, area: ContentArea | None) -> int | None:
        if area is not None:
            for i, c in self.columns.items():
                if c.kind == AREA and c.number == area.number:
                    return i
        return self.index_of("content_areas")


def read_layout(header_row: tuple) -> tuple[Layout, list[Problem]]:
    """Recognise the header row; problems: required columns missing, columns given twice."""
    headers = ["" if v is None else str(v).strip() for v in header_row]
    columns: dict[int, Column] = {}
    problems = []
    seen: dict[tuple[str, int | None], int] = {}
    for index, text in enumerate(headers):
        if text == ERRORS_HEADER:
            continue  # the annotated file's own column, when a corrected copy comes back
        column = column_for_header(text)
        if column is None:
            continue
        key = (column.key, column.number)
        if key in seen:
            problems.append(
                Problem(
                    index,
                    column.key,
                    bilingual(
                        _(
                            "The column “%(header)s” appears twice (columns %(first)s and "
                            "%(second)s)."
                        ),
                        {
                            "header": column.header,
                            "first": get_column_letter(seen[key] + 1),
                            "second": get_column_letter(index + 1),
                        },
                    ),
                )
            )
            continue
        seen[key] = index
        columns[index] = column
    present = {c.key for c in columns.values()}
    for column in FIELD_COLUMNS:
        if column.required and column.key not in present:
            problems.append(
                Problem(
                    None,
                    column.key,
                    bilingual(
                        _(
                            "The column “%(header)s” is missing. Use the template's header row "
                            "unchanged."
                        ),
                        {"header": column.header},
                    ),
                )
            )
    return Layout(headers, columns), problems


def parse_row(number: int, values: tuple, layout: Layout, lookups: Lookups) -> ParsedRow:
    """Turn one row's cells into the arguments of `activity_create` (or problems per cell)."""
    row = ParsedRow(number)
    for index, column in layout.columns.items():
        value = values[index] if index < len(values) else None
        if _is_empty(value):
            continue  # the model's default; required fields are reported by full_clean
        try:
            if column.kind == AREA:
                if _yes_no(value):
                    row.content_areas.append(lookups.area(column.number))
            elif column.kind == DEPARTMENTS:
                row.co_organisers = lookups.departments(value)
            elif column.kind == ARRANGEMENT:
                row.fields[column.key] = lookups.arrangement(value)
            elif column.kind == REGION:
                row.fields[column.key] = lookups.region(value)
            elif column.kind == DATETIME:
                row.fields[column.key] = _datetime(value)
            elif column.kind == YES_NO:
                row.fields[column.key] = _yes_no(value)
            elif column.kind == INTEGER:
                row.fields[column.key] = _integer(value)
            elif column.kind == LONG_TEXT:
                row.fields[column.key] = str(value).strip()
            else:
                row.fields[column.key] = _text(value)
        except CellError as error:
            row.problems.append(Problem(index, column.key, bilingual(error.message, error.params)))
    return row


def validation_problems(
    error: ValidationError, row: ParsedRow, layout: Layout, skip: set[str] = frozenset()
) -> list[Problem]:
    """The service's ValidationError as problems on the columns of the fields it names."""
    problems = []
    for field_name, errors in error.update_error_dict({}).items():
        if field_name in skip:
            continue
        if field_name == "content_areas":
            index = layout.area_index(row.content_areas[0] if row.content_areas else None)
        elif field_name == NON_FIELD_ERRORS:
            index = None
        else:
            index = layout.index_of(field_name)
        for item in errors:
            if getattr(item, "code", None) in ("null", "blank", "required"):
                message = bilingual(_("This column is required: fill it in."))
            else:
                message = bilingual(item.message, item.params)
            problem = Problem(
                index, None if field_name == NON_FIELD_ERRORS else field_name, message
            )
            if problem not in problems:
                problems.append(problem)
    return problems


def check_row(row: ParsedRow, layout: Layout, *, campaign, organiser, actor) -> list[Problem]:
    """Everything wrong with a row, checked as `activity_create` checks it (without saving)."""
    problems = list(row.problems)
    parsed_badly = {p.field for p in row.problems if p.field}
    activity = Activity(
        campaign=campaign,
        organiser=organiser,
        created_by=actor,
        status=ActivityStatus.DRAFT,
        **row.fields,
    )
    # The model's clean() states each of its database constraints as a message on the field to
    # correct, so validating the constraints themselves (a query each, most of full_clean's cost)
    # adds nothing here; `activity_create` validates everything again before it saves.
    for check in (
        lambda: activity_check_headings(activity, row.content_areas),
        lambda: activity.full_clean(validate_constraints=False),
    ):
        try:
            check()
        except ValidationError as error:
            for problem in validation_problems(error, row, layout, skip=parsed_badly):
                if problem not in problems:
                    problems.append(problem)
    # In the order of the columns, as the person reads the row; the row as a whole last.
    return sorted(problems, key=lambda p: (p.column is None, p.column or 0))


# --- the template --------------------------------------------------------------------------------


def _style_header(ws, text: str, *, required: bool, comment: str | None = None) -> WriteOnlyCell:
    cell = WriteOnlyCell(ws, value=text)
    cell.font = HEADER_FONT
    cell.fill = REQUIRED_FILL if required else OPTIONAL_FILL
    cell.alignment = Alignment(wrap_text=True, vertical="center")
    if comment:
        cell.comment = _comment(comment)
    return cell


def _comment(text: str) -> Comment:
    comment = Comment(text, "质量月 Quality Month")
    comment.width = 320
    comment.height = 40 + 18 * (text.count("\n") + len(text) // 40)
    return comment


def _column_help(column: Column, campaign: Campaign) -> tuple[str, str]:
    return (
        column.help_zh.format(year=campaign.year),
        column.help_en.format(year=campaign.year),
    )


def _write_lists(wb: Workbook, campaign: Campaign) -> dict[str, str]:
    """The hidden sheet of drop-down choices; returns the range of each list."""
    ws = wb.create_sheet(LISTS_SHEET)
    ws.sheet_state = "hidden"
    arrangements = [arrangement_label(a) for a in campaign.key_arrangements.order_by("number")]
    regions = list(Region.objects.only("id", "code", "name_zh", "level", "parent_id"))
    by_id = {r.pk: r for r in regions}
    region_labels = [region_label(r, by_id) for r in sorted(regions, key=lambda r: r.code)]
    for width, letter in ((60, "A"), (40, "B")):
        ws.column_dimensions[letter].width = width
    ws.append(["重点安排 Key arrangements", "地区 Regions"])
    for i in range(max(len(arrangements), len(region_labels))):
        ws.append(
            [
                arrangements[i] if i < len(arrangements) else None,
                region_labels[i] if i < len(region_labels) else None,
            ]
        )
    sheet = f"'{LISTS_SHEET}'"
    return {
        ARRANGEMENT: f"{sheet}!$A$2:$A${len(arrangements) + 1}",
        REGION: f"{sheet}!$B$2:$B${len(region_labels) + 1}",
    }


def _add_validations(
    ws, columns: dict[int, Column], ranges: dict[str, str], campaign: Campaign, last_row: int
) -> None:
    """Drop-down lists and input prompts on the data columns (from row 2 to `last_row`)."""
    by_rule: dict[tuple, DataValidation] = {}

    def rule(key, **options) -> DataValidation:
        if key not in by_rule:
            options.setdefault("showErrorMessage", True)
            options.setdefault("showInputMessage", True)
            options.setdefault("allow_blank", True)
            by_rule[key] = DataValidation(**options)
        return by_rule[key]

    yes_no = {
        "type": "list",
        "formula1": f'"{YES},{NO}"',
        "errorStyle": "stop",
        "errorTitle": "是 / 否 Yes / No",
        "error": "请从列表中选择“是 Yes”或“否 No”。 Choose 是 Yes or 否 No from the list.",
    }
    for index, column in columns.items():
        letter = get_column_letter(index + 1)
        help_zh, help_en = _column_help(column, campaign)
        prompt = {"promptTitle": column.en[:32], "prompt": f"{help_zh}\n{help_en}"[:255]}
        if column.kind == ARRANGEMENT:
            dv = rule(
                ARRANGEMENT,
                type="list",
                formula1=ranges[ARRANGEMENT],
                errorStyle="warning",
                errorTitle="重点安排 Key arrangement",
                error="请从列表中选择，或只填编号。 Choose from the list, or type just the number.",
                **prompt,
            )
        elif column.kind == REGION:
            dv = rule(
                REGION,
                type="list",
                formula1=ranges[REGION],
                errorStyle="warning",
                errorTitle="地区 Region",
                error="请从列表中选择，或填写6位代码。 "
                "Choose from the list or type the 6-digit code.",
                **prompt,
            )
        elif column.kind in (YES_NO, AREA):
            dv = rule((YES_NO, column.key, column.number), **yes_no, **prompt)
        elif column.kind == DATETIME:
            dv = rule(
                (DATETIME, column.key),
                type="date",
                operator="between",
                formula1="DATE(2000,1,1)",
                formula2="DATE(2100,12,31)",
                errorStyle="warning",
                errorTitle="日期时间 Date and time",
                error=f"格式如 {campaign.year}-09-10 09:00。 "
                f"Written like {campaign.year}-09-10 09:00.",
                **prompt,
            )
        elif column.kind == INTEGER:
            dv = rule(
                (INTEGER, column.key),
                type="whole",
                operator="greaterThanOrEqual",
                formula1="1",
                errorStyle="warning",
                errorTitle="整数 Whole number",
                error="请填写不小于1的整数。 Enter a whole number of at least 1.",
                **prompt,
            )
        else:
            dv = rule((column.kind, column.key), type=None, **prompt)
        dv.add(f"{letter}2:{letter}{last_row}")
    for dv in by_rule.values():
        ws.data_validations.append(dv)


def _prepare_data_sheet(ws, columns: dict[int, Column], extra_widths: dict[int, int]) -> None:
    """Column widths and formats (set before any row is written: write-only sheets)."""
    for index, column in columns.items():
        dim = ws.column_dimensions[get_column_letter(index + 1)]
        dim.width = column.width
        if column.kind == DATETIME:
            dim.number_format = DATETIME_FORMAT
        elif column.kind in (TEXT, PHONE, REGION, DEPARTMENTS):
            dim.number_format = "@"  # text: Excel must not turn a telephone number into 1.38E+10
    for index, width in extra_widths.items():
        ws.column_dimensions[get_column_letter(index + 1)].width = width
    ws.row_dimensions[1].height = 64
    ws.freeze_panes = "B2"


def _write_instructions(wb: Workbook, campaign: Campaign, columns: list[Column]) -> None:
    ws = wb.create_sheet(INSTRUCTIONS_SHEET)
    for letter, width in (("A", 14), ("B", 34), ("C", 12), ("D", 58), ("E", 58)):
        ws.column_dimensions[letter].width = width
    title_font, section_font = Font(bold=True, size=14, color=RED), Font(bold=True, size=12)

    def line(*values, font=None, wrap=True):
        cells = []
        for value in values:
            cell = WriteOnlyCell(ws, value=value)
            if wrap:
                cell.alignment = WRAP
            if font is not None:
                cell.font = font
            cells.append(cell)
        ws.append(cells)

    def section(zh, en):
        ws.append([])
        line(f"{zh} {en}", font=section_font, wrap=False)

    line(
        "全国“质量月”活动批量导入模板 Quality Month activity import template",
        font=title_font,
        wrap=False,
    )
    line(f"{campaign.name_zh} {campaign.name_en}".strip(), wrap=False)
    line(f"主题 Theme: {campaign.theme_zh} {campaign.theme_en}".strip(), wrap=False)

    section("使用方法", "How to use")
    steps = (
        (
            f"在“{DATA_SHEET}”工作表中每行填写一项活动。第1行是表头，请勿修改、删除或调换表头。",
            f"On the sheet “{DATA_SHEET}”, fill in one activity per row. Row 1 holds the headers: "
            "do not change or delete them.",
        ),
        (
            "红色表头的列必须填写。有下拉列表的列请从列表中选择；把鼠标停在表头上可看到填写说明。",
            "Columns with a red header are required. Where a column has a drop-down list, choose "
            "from it; hover over a header to read what to enter.",
        ),
        (
            "活动内容：在适用的每一项“活动内容”列中选择“是”，可以选择多项。",
            "Content areas: choose 是 Yes in the column of every content area that applies; "
            "several are allowed.",
        ),
        (
            "上传后，系统按照网页表单相同的规则逐行检查，并按行和列列出所有错误。默认只有全部行都"
            "正确时才会导入；也可以在上传时勾选“只导入正确的行”。",
            "After the upload every row is checked by the same rules as the web form, and every "
            "error is listed by row and column. By default nothing is imported until every row "
            "is valid; at upload you may instead ask for the valid rows to be imported.",
        ),
        (
            "如有错误，可下载标注了错误的文件（错误单元格标红并附批注），改正后重新上传。"
            f"“{ERRORS_HEADER}”列在导入时会被忽略。",
            "If there are errors, download the annotated copy of your file (cells in error are "
            "red and carry a comment), correct it and upload it again. The column "
            f"“{ERRORS_HEADER}” is ignored on import.",
        ),
        (
            "导入的活动均为草稿，请在“我的活动”中检查后提交审核；审核通过后才会公开。",
            "Imported activities are drafts: check them in “My activities” and submit them for "
            "review. They are published only once approved.",
        ),
    )
    for number, (zh, en) in enumerate(steps, start=1):
        line(str(number), "", "", zh, en)

    section("不收费承诺", "The no-fee declaration")
    line(
        "",
        "",
        "",
        "企业自愿参加质量月活动。严禁以质量月名义向企业收取任何费用，严禁搭车收费。"
        "在“承诺不收取任何费用”列选择“是”，即代表主办单位承诺不以任何形式直接或间接向企业收取"
        "费用。草稿可以暂不承诺，但提交审核前必须承诺。",
        "Enterprises take part in Quality Month voluntarily. Charging enterprises any fee in the "
        "campaign's name, or adding fees to it, is strictly forbidden. Choosing 是 Yes in the "
        "column “No fee is charged” declares that the organiser charges enterprises no fee of "
        "any kind, directly or indirectly. A draft may be saved without it; it must be declared "
        "before the activity is submitted for review.",
    )

    section("限制", "Limits")
    limits = (
        (
            f"文件格式为 .xlsx（Excel 2007 及以上版本、WPS 表格），不超过 "
            f"{MAX_UPLOAD_BYTES // (1024 * 1024)} MB，每个文件最多 {MAX_ROWS:,} 行活动。",
            f".xlsx files only (Excel 2007 or later, WPS Spreadsheets), at most "
            f"{MAX_UPLOAD_BYTES // (1024 * 1024)} MB and {MAX_ROWS:,} activities per file.",
        ),
        ("所有时间均为北京时间。", "All times are Beijing time."),
        (
            f"活动导入到 {campaign.year} 年的质量月活动，主办单位为上传者所在的部门（单位）。",
            f"Activities are imported into the {campaign.year} campaign, organised by the "
            "uploader's department.",
        ),
    )
    for zh, en in limits:
        line("•", "", "", zh, en)

    section("各列说明", "Columns")
    line(
        "列 Column", "表头 Header", "必填 Required", "填写说明", "What to enter", font=section_font
    )
    for index, column in enumerate(columns):
        help_zh, help_en = _column_help(column, campaign)
        line(
            get_column_letter(index + 1),
            column.header,
            "是 Yes" if column.required else "",
            help_zh,
            help_en,
        )

    section("重点安排", "Key arrangements")
    for a in campaign.key_arrangements.order_by("number"):
        line(str(a.number), "", "", a.title_zh, a.title_en)
    section("活动内容", "Content areas")
    for a in campaign.content_areas.order_by("number"):
        line(
            str(a.number), f"活动内容{a.number} Content area {a.number}", "", a.title_zh, a.title_en
        )


def _new_workbook(campaign: Campaign) -> Workbook:
    wb = Workbook(write_only=True)
    wb.properties.title = f"{campaign.year} 质量月活动导入 Quality Month activity import"
    wb.properties.creator = "全国“质量月”门户 Quality Month portal"
    wb.properties.keywords = f"{KEYWORDS_PREFIX}{campaign.year}"
    return wb


def template_workbook(campaign: Campaign, out: IO[bytes]) -> None:
    """Write the import template of `campaign` to `out`."""
    columns = template_columns(campaign)
    areas = {a.number: a for a in campaign.content_areas.all()}
    wb = _new_workbook(campaign)
    ws = wb.create_sheet(DATA_SHEET)
    by_index = dict(enumerate(columns))
    _prepare_data_sheet(ws, by_index, {})
    _write_instructions(wb, campaign, columns)
    ranges = _write_lists(wb, campaign)
    _add_validations(ws, by_index, ranges, campaign, MAX_ROWS + 1)
    ws.append(
        [
            _style_header(
                ws,
                _column_header(c, areas),
                required=c.required,
                comment="\n".join(_column_help(c, campaign)),
            )
            for c in columns
        ]
    )
    wb.save(out)


def template_filename(campaign: Campaign) -> str:
    return f"quality-month-{campaign.year}-activities-template.xlsx"


# --- the file ------------------------------------------------------------------------------------


class UnreadableFile(DomainError):
    """A file that is not a workbook the import can read. `message` % `params` says why."""

    code = "unreadable_file"

    def __init__(self, message, params: dict | None = None):
        super().__init__(message)
        self.params = params

    def __str__(self):
        return str(self.message) % self.params if self.params else str(self.message)


_NOT_XLSX = _(
    "This file is not an Excel workbook (.xlsx). Download the template, fill it in with Excel "
    "or WPS, save it as .xlsx and upload that."
)


def sniff_workbook(upload) -> None:
    """Refuse, with a clear message, a file that cannot be an .xlsx workbook (an empty file, a
    PDF, text renamed .xlsx, an old .xls, a zip of something else). Reads only the file's header
    and zip directory."""
    size = getattr(upload, "size", None)
    if not size:
        raise UnreadableFile(_("The file is empty."))
    if size > MAX_UPLOAD_BYTES:
        raise UnreadableFile(
            _("The file is larger than %(limit)s MB: split the activities into several files."),
            {"limit": MAX_UPLOAD_BYTES // (1024 * 1024)},
        )
    upload.seek(0)
    head = upload.read(8)
    upload.seek(0)
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise UnreadableFile(
            _(
                "This is an old Excel 97–2003 file (.xls). Open it in Excel or WPS, save it as "
                "an Excel workbook (.xlsx) and upload that."
            )
        )
    if head.startswith(b"%PDF"):
        raise UnreadableFile(
            _("This is a PDF document, not a spreadsheet. Upload the filled-in template (.xlsx).")
        )
    if not head.startswith(b"PK"):
        raise UnreadableFile(_NOT_XLSX)
    try:
        with zipfile.ZipFile(upload) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise UnreadableFile(_NOT_XLSX) from exc
    finally:
        upload.seek(0)
    if "xl/workbook.xml" not in names:
        raise UnreadableFile(_NOT_XLSX)


def _open_workbook(job: ActivityImport):
    """The uploaded workbook, read-only and streaming (cells are read row by row)."""
    try:
        job.file.open("rb")
        return load_workbook(job.file, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for damaged files
        job.file.close()
        raise UnreadableFile(
            _(
                "The file could not be read as an Excel workbook; it may be damaged. Open it in "
                "Excel or WPS, save it again as .xlsx and upload it."
            )
        ) from exc


def _data_sheet(wb):
    return wb[DATA_SHEET] if DATA_SHEET in wb.sheetnames else wb.worksheets[0]


def _template_year(wb) -> int | None:
    keywords = (wb.properties.keywords or "") if wb.properties else ""
    match = re.search(re.escape(KEYWORDS_PREFIX) + r"(\d{4})", keywords)
    return int(match.group(1)) if match else None


# --- the upload (a service) ----------------------------------------------------------------------


def activity_import_start(*, actor, upload, mode: str) -> ActivityImport:
    """Take an uploaded workbook of activities for the person's department.

    Steps: check the person is staff of a department and a campaign exists; refuse a file that
    is not an .xlsx workbook (UnreadableFile, with a clear message); store the file and create
    the import job (queued); write the audit log; once committed, start the background task
    (in-process when no broker is configured).
    """
    roles = roles_of(actor)
    if roles.department_id is None:
        raise NotAllowed(_("Only a department's staff can import activities."))
    campaign = campaign_current()
    if campaign is None:
        raise DomainError(_("There is no campaign to import activities into yet."))
    if mode not in ActivityImportMode.values:
        raise DomainError(_("Choose a valid import mode."), field="mode")
    sniff_workbook(upload)
    from .tasks import run_activity_import

    with transaction.atomic():
        job = ActivityImport(
            campaign=campaign,
            department_id=roles.department_id,
            created_by=actor,
            original_name=(getattr(upload, "name", "") or "activities.xlsx")[-255:],
            mode=mode,
        )
        job.file.save("upload.xlsx", upload, save=False)
        job.save()
        audit_log(
            job,
            "activities.activityimport.uploaded",
            actor=actor,
            changes={
                "file": job.original_name,
                "size": upload.size,
                "mode": mode,
                "campaign": campaign.year,
            },
        )
        job_id = job.pk
        transaction.on_commit(lambda: _start_task(run_activity_import, job_id))
    return job


def _start_task(task, job_id: int) -> None:
    """Hand the job to the task queue; if the queue cannot be reached, say so on the job rather
    than leave it waiting for ever."""
    try:
        task.delay(job_id)
    except Exception:
        logger.exception("Could not start activity import %s", job_id)
        ActivityImport.objects.filter(pk=job_id, status=ActivityImportStatus.QUEUED).update(
            status=ActivityImportStatus.ERROR,
            finished_at=timezone.now(),
            failure=bilingual(
                _(
                    "The import could not be started because the background service is not "
                    "available. Nothing was imported; please upload the file again later."
                )
            ),
        )


# --- the work (the background task) --------------------------------------------------------------


def _entry(row_number: int | None, problem: Problem, layout: Layout | None) -> dict:
    index = problem.column
    return {
        "row": row_number,
        "column": get_column_letter(index + 1) if index is not None else "",
        "header": layout.headers[index] if layout is not None and index is not None else "",
        "field": problem.field or "",
        "message": problem.message,
    }


def _save_progress(job: ActivityImport, **values) -> None:
    # A plain UPDATE, outside any transaction: the page polling the job sees it at once.
    ActivityImport.objects.filter(pk=job.pk).update(**values)
    for name, value in values.items():
        setattr(job, name, value)


def activity_import_run(job_id: int) -> str:
    """Check every row of an import and create the activities; returns the final status.

    Runs once per job (a job already started is left alone, so a redelivered task does no harm).
    Steps: read the header row and every row (problems per cell); check each row as
    `activity_create` would, saving the progress every PROGRESS_EVERY rows; then, unless the
    mode is all-or-nothing and a row has errors, create the valid rows through `activity_create`
    in one transaction (drafts, each audit-logged); record the outcome and log it.
    """
    started = ActivityImport.objects.filter(pk=job_id, status=ActivityImportStatus.QUEUED).update(
        status=ActivityImportStatus.RUNNING, started_at=timezone.now()
    )
    if not started:
        return ActivityImport.objects.filter(pk=job_id).values_list("status", flat=True).first()
    job = ActivityImport.objects.select_related("campaign", "department", "created_by").get(
        pk=job_id
    )
    try:
        _run(job)
    except UnreadableFile as error:
        job.status = ActivityImportStatus.ERROR
        job.failure = bilingual(error.message, error.params)
    except (NotAllowed, DomainError) as error:
        job.status = ActivityImportStatus.ERROR
        job.failure = bilingual(
            getattr(error, "message", None) or (error.args[0] if error.args else str(error))
        )
    except Exception:
        logger.exception("Activity import %s failed", job_id)
        job.status = ActivityImportStatus.ERROR
        job.failure = bilingual(
            _(
                "The import stopped because of an unexpected error; nothing was imported. Try "
                "again later, and tell the portal's administrators if it happens again."
            )
        )
    finally:
        job.file.close()
    job.finished_at = timezone.now()
    job.error_count = len(job.errors)
    with transaction.atomic():
        job.save(
            update_fields=[
                "status",
                "rows_total",
                "rows_processed",
                "error_count",
                "errors",
                "notices",
                "failure",
                "created_count",
                "finished_at",
            ]
        )
        audit_log(
            job,
            "activities.activityimport.finished",
            actor=job.created_by,
            changes={
                "status": [ActivityImportStatus.RUNNING, job.status],
                "rows": job.rows_total,
                "errors": job.error_count,
                "created": job.created_count,
            },
        )
    return job.status


def _run(job: ActivityImport) -> None:
    actor = job.created_by
    if actor is None or roles_of(actor).department_id != job.department_id:
        raise NotAllowed(
            _("The person who uploaded the file is no longer staff of the department.")
        )
    campaign = job.campaign
    wb = _open_workbook(job)
    try:
        ws = _data_sheet(wb)
        rows = ws.iter_rows(values_only=True)
        header = next(rows, None)
        if header is None or all(_is_empty(v) for v in header):
            raise UnreadableFile(
                _("The first sheet is empty: fill in the template's sheet “%(sheet)s”."),
                {"sheet": DATA_SHEET},
            )
        layout, header_problems = read_layout(header)
        job.errors = [_entry(1, p, layout) for p in header_problems]
        if header_problems:
            job.status = ActivityImportStatus.INVALID
            return

        # The headings named by a template of another year are looked up in that year, so that
        # the services' check says precisely what is wrong ("a content area of another campaign").
        heading_campaign = campaign
        year = _template_year(wb)
        if year is not None and year != campaign.year:
            heading_campaign = Campaign.objects.filter(year=year).first() or campaign
            job.notices = [
                bilingual(
                    _(
                        "This file was made from the template of the %(file_year)s campaign; "
                        "activities are imported into the %(year)s campaign, whose key "
                        "arrangements and content areas differ. Download the current template "
                        "and copy your rows into it."
                    ),
                    {"file_year": year, "year": campaign.year},
                )
            ]
        lookups = Lookups(heading_campaign)
        parsed = []
        for number, values in enumerate(rows, start=2):
            if all(_is_empty(v) for v in values):
                continue
            if len(parsed) >= MAX_ROWS:
                job.errors = [
                    _entry(
                        number,
                        Problem(
                            None,
                            None,
                            bilingual(
                                _(
                                    "The file holds more than %(limit)s activities: split it "
                                    "into several files."
                                ),
                                {"limit": f"{MAX_ROWS:,}"},
                            ),
                        ),
                        layout,
                    )
                ]
                job.status = ActivityImportStatus.INVALID
                return
            parsed.append(parse_row(number, values, layout, lookups))
    finally:
        wb.close()

    if not parsed:
        job.errors = [
            _entry(
                2,
                Problem(None, None, bilingual(_("The file holds no activities below the header."))),
                layout,
            )
        ]
        job.status = ActivityImportStatus.INVALID
        return
    _save_progress(job, rows_total=len(parsed), rows_processed=0)

    # Check every row (no writes), so that every error is reported, and the progress shows.
    errors, valid = [], []
    for done, row in enumerate(parsed, start=1):
        problems = check_row(row, layout, campaign=campaign, organiser=job.department, actor=actor)
        if problems:
            errors.extend(_entry(row.number, p, layout) for p in problems)
        else:
            valid.append(row)
        if done % PROGRESS_EVERY == 0 or done == len(parsed):
            _save_progress(job, rows_processed=done, error_count=len(errors))
    job.errors = errors
    if errors and job.mode == ActivityImportMode.ALL_OR_NOTHING:
        job.status = ActivityImportStatus.INVALID
        return

    # Create the valid rows through the service, all in one transaction.
    created = 0
    with transaction.atomic():
        for row in valid:
            try:
                activity_create(
                    actor=actor,
                    campaign=campaign,
                    organiser=job.department,
                    content_areas=row.content_areas,
                    co_organisers=row.co_organisers,
                    **row.fields,
                )
            except ValidationError as error:
                # A rule the check above does not see (or a change made since by someone else).
                errors.extend(
                    _entry(row.number, p, layout) for p in validation_problems(error, row, layout)
                )
                continue
            except IntegrityError as error:
                # The database's constraints are the last line of defence: name the one refused.
                errors.append(_entry(row.number, _constraint_problem(error), layout))
                continue
            created += 1
        errors.sort(key=lambda e: (e["row"] or 0, e["column"]))
        if errors and job.mode == ActivityImportMode.ALL_OR_NOTHING:
            transaction.set_rollback(True)
            created = 0
        else:
            # The outcome commits with the activities: a worker killed after this commit leaves
            # a finished job, never activities under a job that still says "running".
            ActivityImport.objects.filter(pk=job.pk).update(
                status=ActivityImportStatus.DONE,
                created_count=created,
                errors=errors,
                error_count=len(errors),
            )
    job.errors = errors
    job.created_count = created
    job.status = (
        ActivityImportStatus.INVALID
        if errors and job.mode == ActivityImportMode.ALL_OR_NOTHING
        else ActivityImportStatus.DONE
    )


def activity_imports_fail_stale(*, now: dt.datetime | None = None) -> int:
    """Periodic: imports still "running" ACTIVITY_IMPORT_STALE_MINUTES after they started lost
    their worker (killed, or its machine restarted; a redelivered task leaves a started job
    alone), so they would say "running" for ever. Each is marked failed with a message and
    audited. Nothing of it was imported: its activities commit only together with the job's
    outcome. Returns how many were marked."""
    now = now or timezone.now()
    cutoff = now - dt.timedelta(minutes=settings.ACTIVITY_IMPORT_STALE_MINUTES)
    stale = ActivityImport.objects.filter(
        status=ActivityImportStatus.RUNNING, started_at__lt=cutoff
    ).select_related("created_by")
    failed = 0
    for job in stale:
        with transaction.atomic():
            # Conditional, so that a job finishing at this moment keeps its outcome.
            marked = ActivityImport.objects.filter(
                pk=job.pk, status=ActivityImportStatus.RUNNING
            ).update(
                status=ActivityImportStatus.ERROR,
                finished_at=now,
                failure=bilingual(
                    _(
                        "The import stopped before it finished (the background service was "
                        "interrupted). Nothing was imported; please upload the file again."
                    )
                ),
            )
            if not marked:
                continue
            audit_log(
                job,
                "activities.activityimport.finished",
                actor=None,
                changes={
                    "status": [ActivityImportStatus.RUNNING, ActivityImportStatus.ERROR],
                    "rows": job.rows_total,
                    "checked": job.rows_processed,
                },
                comment="stale: no outcome "
                f"{settings.ACTIVITY_IMPORT_STALE_MINUTES} minutes after it started",
            )
            failed += 1
    if failed:
        logger.warning("Marked %s stale activity import(s) as failed", failed)
    return failed


def _constraint_problem(error: IntegrityError) -> Problem:
    text = str(error)
    for constraint in Activity._meta.constraints:
        if constraint.name in text:
            return Problem(None, None, bilingual(constraint.violation_error_message))
    return Problem(None, None, bilingual(_("The database refused this row.")))


# --- reading the outcome -------------------------------------------------------------------------


def activity_imports_visible_to(user):
    """The imports a person may see: those of their own department (404 for any other)."""
    department_id = roles_of(user).department_id
    if department_id is None:
        return ActivityImport.objects.none()
    return ActivityImport.objects.filter(department_id=department_id).select_related(
        "campaign", "created_by"
    )


def annotated_workbook(job: ActivityImport, out: IO[bytes]) -> None:
    """Write the uploaded data sheet to `out` with every error marked: the cell in red with a
    comment (Chinese and English), all of a row's errors in a last column, and a sheet listing
    every error. Drop-down lists and instructions are added again so the file can be corrected
    and uploaded as it is. Reads and writes row by row (openpyxl read-only and write-only)."""
    by_cell: dict[tuple[int, str], list[dict]] = defaultdict(list)
    by_row: dict[int, list[dict]] = defaultdict(list)
    for entry in job.errors:
        if entry.get("row"):
            by_row[entry["row"]].append(entry)
            if entry.get("column"):
                by_cell[(entry["row"], entry["column"])].append(entry)
    source = _open_workbook(job)
    campaign = job.campaign
    try:
        ws_in = _data_sheet(source)
        rows = ws_in.iter_rows(values_only=True)
        header = next(rows, None) or ()
        layout, _problems = read_layout(header)
        width = max(len(header), max(layout.columns, default=-1) + 1)
        errors_index = width  # the errors column follows the file's own columns

        wb = _new_workbook(campaign)
        ws = wb.create_sheet(DATA_SHEET)
        _prepare_data_sheet(ws, layout.columns, {errors_index: 60})
        areas = {a.number: a for a in campaign.content_areas.all()}

        header_cells = []
        for index in range(width):
            text = header[index] if index < len(header) else None
            column = layout.columns.get(index)
            if column is None:
                header_cells.append(WriteOnlyCell(ws, value=text))
                continue
            header_cells.append(
                _style_header(
                    ws,
                    text if text is not None else _column_header(column, areas),
                    required=column.required,
                )
            )
        marker = _style_header(ws, ERRORS_HEADER, required=True)
        header_problems = by_row.get(1, [])
        if header_problems:
            marker.comment = _comment(
                "\n".join(both_languages(e["message"]) for e in header_problems)
            )
        ws.append([*header_cells, marker])

        blank_run = 0
        last_row = 1
        for number, values in enumerate(rows, start=2):
            if all(_is_empty(v) for v in values):
                blank_run += 1
                continue
            for _blank in range(blank_run):
                ws.append([])
            blank_run = 0
            last_row = number
            row_errors = by_row.get(number)
            if not row_errors:
                ws.append(list(values))
                continue
            cells = []
            for index in range(max(width, len(values))):
                value = values[index] if index < len(values) else None
                cell = WriteOnlyCell(ws, value=value)
                cell_errors = by_cell.get((number, get_column_letter(index + 1)))
                if cell_errors:
                    cell.fill = ERROR_FILL
                    cell.font = ERROR_FONT
                    cell.comment = _comment(
                        "\n".join(both_languages(e["message"]) for e in cell_errors)
                    )
                cells.append(cell)
            while len(cells) < errors_index:
                cells.append(None)
            summary = WriteOnlyCell(
                ws,
                value="\n".join(
                    (f"{e['column']}: " if e["column"] else "") + both_languages(e["message"])
                    for e in row_errors
                ),
            )
            summary.font = ERROR_FONT
            summary.alignment = WRAP
            cells.append(summary)
            ws.append(cells)
        _write_errors_sheet(wb, job)
        _write_instructions(wb, campaign, template_columns(campaign))
        ranges = _write_lists(wb, campaign)
        _add_validations(ws, layout.columns, ranges, campaign, max(last_row + 200, 1000))
        wb.save(out)
    finally:
        source.close()
        job.file.close()


def _write_errors_sheet(wb: Workbook, job: ActivityImport) -> None:
    ws = wb.create_sheet(ERRORS_SHEET)
    for letter, width in (("A", 8), ("B", 8), ("C", 28), ("D", 60), ("E", 60)):
        ws.column_dimensions[letter].width = width
    ws.freeze_panes = "A2"
    ws.append(
        [
            _style_header(ws, text, required=True)
            for text in ("行 Row", "列 Column", "表头 Header", "错误", "Error")
        ]
    )
    for message in job.notices:
        ws.append(["", "", "", message.get("zh-hans", ""), message.get("en", "")])
    for entry in job.errors:
        header = entry.get("header") or ""
        if not header and entry.get("field"):
            header = next((c.header for c in FIELD_COLUMNS if c.key == entry["field"]), "")
        cells = [
            entry.get("row") or "",
            entry.get("column") or "",
            header.splitlines()[0] if header else "",
            entry["message"].get("zh-hans", ""),
            entry["message"].get("en", ""),
        ]
        ws.append([_wrapped(ws, value) for value in cells])


def _wrapped(ws, value) -> WriteOnlyCell:
    cell = WriteOnlyCell(ws, value=value)
    cell.alignment = WRAP
    return cell


def annotated_filename(job: ActivityImport) -> str:
    stem = re.sub(r"\.xlsx?$", "", job.original_name, flags=re.IGNORECASE) or "activities"
    return f"{stem}-errors.xlsx"
