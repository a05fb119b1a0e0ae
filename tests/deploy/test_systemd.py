"""The example systemd units (deploy/systemd/): systemd accepts them, and each starts what
docs/deploy.md says with the environment file from deploy/."""

import configparser
import re
import shutil
import subprocess
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parents[2]
UNITS = BASE_DIR / "deploy" / "systemd"
INSTALLED = "/srv/qualitymonth"


def unit(name: str) -> configparser.ConfigParser:
    """A unit file read as INI (systemd's syntax, with continued lines joined)."""
    parser = configparser.ConfigParser(strict=False, interpolation=None, delimiters=("=",))
    parser.optionxform = str
    text = (UNITS / name).read_text().replace("\\\n", " ")
    parser.read_string(text)
    return parser


def test_there_are_the_three_units():
    assert sorted(p.name for p in UNITS.glob("*.service")) == [
        "qualitymonth-beat.service",
        "qualitymonth-web.service",
        "qualitymonth-worker.service",
    ]


def test_systemd_accepts_the_units(tmp_path):
    """systemd-analyze verify, with the installation path pointed at this checkout (it checks
    that the programs exist). Without systemd, the INI reading below still checks them."""
    analyze = shutil.which("systemd-analyze")
    for path in UNITS.glob("*.service"):
        (tmp_path / path.name).write_text(path.read_text().replace(INSTALLED, str(BASE_DIR)))
        assert set(unit(path.name)) >= {"Unit", "Service", "Install"}
    if analyze is None:
        return
    result = subprocess.run(
        [analyze, "verify", *sorted(str(p) for p in tmp_path.glob("*.service"))],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    # Unknown keys are only warnings to systemd: none may appear.
    mine = [line for line in result.stderr.splitlines() if str(tmp_path) in line]
    assert mine == [], result.stderr


@pytest.mark.parametrize(
    ("name", "command"),
    [
        ("qualitymonth-web.service", "/.venv/bin/gunicorn -c qualitymonth/gunicorn_conf.py"),
        ("qualitymonth-worker.service", "/.venv/bin/celery -A qualitymonth worker"),
        ("qualitymonth-beat.service", "/.venv/bin/celery -A qualitymonth beat"),
    ],
)
def test_each_unit_runs_its_program_with_the_environment_file(name, command):
    service = unit(name)["Service"]

    assert command in service["ExecStart"]
    assert service["ExecStart"].startswith(INSTALLED)
    assert service["WorkingDirectory"] == INSTALLED
    assert service["EnvironmentFile"] == "/etc/qualitymonth/qualitymonth.env"
    assert service["User"] == "qualitymonth"
    assert service["Restart"] == "on-failure"
    assert service["NoNewPrivileges"] == "true"


def test_the_web_unit_reloads_gracefully_and_keeps_metrics_per_run():
    service = unit("qualitymonth-web.service")["Service"]

    assert service["Type"] == "notify"  # gunicorn tells systemd when it listens
    assert service["ExecReload"] == "/bin/kill -s HUP $MAINPID"
    assert service["Environment"] == "PROMETHEUS_MULTIPROC_DIR=/run/qualitymonth/prometheus"
    assert service["RuntimeDirectory"] == "qualitymonth"


def test_the_web_and_worker_units_may_write_only_the_data_directory():
    for name in ("qualitymonth-web.service", "qualitymonth-worker.service"):
        service = unit(name)["Service"]
        assert service["ProtectSystem"] == "strict"
        assert service["ReadWritePaths"] == "/var/lib/qualitymonth"


def test_the_environment_example_names_only_documented_variables():
    documented = (BASE_DIR / "docs" / "settings.md").read_text()
    example = (BASE_DIR / "deploy" / "qualitymonth.env.example").read_text()
    names = {
        line.lstrip("# ").split("=", 1)[0]
        for line in example.splitlines()
        if "=" in line and line.lstrip("# ").split("=", 1)[0].isupper()
    }
    boto = {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"}  # boto3's own, named in settings.md

    assert "PORTAL_MODE" in names
    assert {name for name in names - boto if f"`{name}`" not in documented} == set()


def test_one_service_user_and_database_role_throughout_the_deploy_docs():
    """The units' user is the one the docs create, run commands and cron lines as, and name the
    database role after: no second name (such as `portal`) for the same installation."""
    users = {unit(p.name)["Service"]["User"] for p in UNITS.glob("*.service")}
    groups = {unit(p.name)["Service"]["Group"] for p in UNITS.glob("*.service")}
    assert users == groups == {"qualitymonth"}
    texts = {
        path.relative_to(BASE_DIR): path.read_text()
        for path in [
            BASE_DIR / "README.md",
            *sorted((BASE_DIR / "docs").glob("*.md")),
            *sorted(p for p in (BASE_DIR / "deploy").rglob("*") if p.is_file()),
        ]
    }
    deploy = texts[Path("docs/deploy.md")]
    assert "adduser --system --group --home /srv/qualitymonth qualitymonth" in deploy
    named = {
        # cron lines: minute hour day month weekday USER command
        "cron user": r"^[0-9*/,-]+ +[0-9*/,-]+ +[0-9*/,-]+ +[0-9*/,-]+ +[0-9*/,-]+ +(\S+) ",
        # PostgreSQL's own superuser creates the role and the database; everything else runs as
        # the service user.
        "sudo -u": r"sudo -u ([a-z_][a-z0-9_-]*)\b(?! (?:createuser|createdb))",
        "database owner": r"createdb -O (\S+)",
        "database role": r"createuser (?:--\S+ )*(\S+?)`",
        "role in DATABASE_URL": r"DATABASE_URL=postgres://([^:@/]+):",
    }
    found = {}
    for what, pattern in named.items():
        for path, text in texts.items():
            for name in re.findall(pattern, text, flags=re.MULTILINE):
                found.setdefault(what, set()).add((str(path), name))
    assert set(found) == set(named), found  # each kind is there at least once
    others = {(what, path, name) for what, hits in found.items() for path, name in hits}
    assert {hit for hit in others if hit[2] != "qualitymonth"} == set()
