"""A run's outcome is final: the database refuses to change the status of a run that has ended.

The worker, the reaper and a cancel each end runs. Each only moves an active run, and this
trigger makes sure no path, present or future, relabels a run after it ended (a worker that
outlived the reaper's verdict once turned "worker lost" into "gateway unreachable").
"""

from django.db import migrations

ENDED = "('passed', 'failed', 'error', 'cancelled')"
REFUSAL = "a run that has ended keeps its outcome"

POSTGRESQL_CREATE = f"""
CREATE OR REPLACE FUNCTION portal_hantestrun_outcome_is_final() RETURNS trigger AS $$
BEGIN
    IF OLD.status IN {ENDED} AND NEW.status IS DISTINCT FROM OLD.status THEN
        RAISE EXCEPTION '{REFUSAL} (run %, %)', OLD.id, OLD.status
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER portal_hantestrun_outcome_is_final
    BEFORE UPDATE OF status ON portal_hantestrun
    FOR EACH ROW EXECUTE FUNCTION portal_hantestrun_outcome_is_final();
"""
POSTGRESQL_DROP = """
DROP TRIGGER IF EXISTS portal_hantestrun_outcome_is_final ON portal_hantestrun;
DROP FUNCTION IF EXISTS portal_hantestrun_outcome_is_final();
"""
SQLITE_CREATE = f"""
CREATE TRIGGER portal_hantestrun_outcome_is_final
    BEFORE UPDATE OF status ON portal_hantestrun
    FOR EACH ROW WHEN OLD.status IN {ENDED} AND NEW.status IS NOT OLD.status
BEGIN
    SELECT RAISE(ABORT, '{REFUSAL}');
END;
"""
SQLITE_DROP = "DROP TRIGGER IF EXISTS portal_hantestrun_outcome_is_final;"


def _run(sql_by_vendor: dict[str, str]):  # type: ignore[no-untyped-def]
    def run(apps, schema_editor):  # type: ignore[no-untyped-def]
        sql = sql_by_vendor.get(schema_editor.connection.vendor)
        if sql is None:
            return
        if schema_editor.connection.vendor == "sqlite":
            schema_editor.execute(sql)
        else:
            with schema_editor.connection.cursor() as cursor:
                cursor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [("portal", "0010_drop_unused_knox_table")]

    operations = [
        migrations.RunPython(
            _run({"postgresql": POSTGRESQL_CREATE, "sqlite": SQLITE_CREATE}),
            _run({"postgresql": POSTGRESQL_DROP, "sqlite": SQLITE_DROP}),
        ),
    ]
