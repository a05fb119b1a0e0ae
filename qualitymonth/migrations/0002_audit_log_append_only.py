"""The database itself refuses to change or delete audit log entries."""

from django.db import migrations

POSTGRES_UP = """
CREATE OR REPLACE FUNCTION qualitymonth_audit_log_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit log entries are append-only (% refused)', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER qualitymonth_audit_log_no_update BEFORE UPDATE OR DELETE ON qualitymonth_auditlogentry
    FOR EACH ROW EXECUTE FUNCTION qualitymonth_audit_log_append_only();
CREATE TRIGGER qualitymonth_audit_log_no_truncate BEFORE TRUNCATE ON qualitymonth_auditlogentry
    FOR EACH STATEMENT EXECUTE FUNCTION qualitymonth_audit_log_append_only();
"""
POSTGRES_DOWN = """
DROP TRIGGER IF EXISTS qualitymonth_audit_log_no_update ON qualitymonth_auditlogentry;
DROP TRIGGER IF EXISTS qualitymonth_audit_log_no_truncate ON qualitymonth_auditlogentry;
DROP FUNCTION IF EXISTS qualitymonth_audit_log_append_only();
"""
SQLITE_UP = [
    """CREATE TRIGGER qualitymonth_audit_log_no_update BEFORE UPDATE ON qualitymonth_auditlogentry
       BEGIN SELECT RAISE(ABORT, 'audit log entries are append-only (UPDATE refused)'); END;""",
    """CREATE TRIGGER qualitymonth_audit_log_no_delete BEFORE DELETE ON qualitymonth_auditlogentry
       BEGIN SELECT RAISE(ABORT, 'audit log entries are append-only (DELETE refused)'); END;""",
]
SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS qualitymonth_audit_log_no_update;",
    "DROP TRIGGER IF EXISTS qualitymonth_audit_log_no_delete;",
]


def install(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRES_UP, params=None)
    elif vendor == "sqlite":
        for statement in SQLITE_UP:
            schema_editor.execute(statement)


def uninstall(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRES_DOWN, params=None)
    elif vendor == "sqlite":
        for statement in SQLITE_DOWN:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("qualitymonth", "0001_initial")]
    operations = [migrations.RunPython(install, uninstall, elidable=False)]
