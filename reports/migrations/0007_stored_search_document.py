"""Keep each report's search document (title A, teaser B, body C) in a stored generated
column with its own GIN index, instead of an index on the expression.

With only the expression indexed, PostgreSQL finds matches through the index but must
compute to_tsvector() over each matching report's ~30 KB body again to rank it (and to
recheck lossy index matches): seconds per search once a word occurs in a few thousand
reports. The stored column is computed once per write. PostgreSQL only, and outside the
migration state like the index it replaces, so SQLite (`make run`) never sees it.
"""

from django.db import migrations

EXPRESSION = (
    "setweight(to_tsvector('english'::regconfig, COALESCE(title, '')::text), 'A') || "
    "setweight(to_tsvector('english'::regconfig, COALESCE(teaser, '')), 'B') || "
    "setweight(to_tsvector('english'::regconfig, COALESCE(body, '')), 'C')"
)


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        "ALTER TABLE reports_report ADD COLUMN IF NOT EXISTS search_document tsvector "
        f"GENERATED ALWAYS AS ({EXPRESSION}) STORED"
    )
    schema_editor.execute(
        "CREATE INDEX IF NOT EXISTS report_search_document ON reports_report "
        "USING gin (search_document)"
    )
    schema_editor.execute("DROP INDEX IF EXISTS report_search")


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    from django.contrib.postgres.indexes import GinIndex

    from reports.models import search_vector

    report = apps.get_model("reports", "Report")
    schema_editor.add_index(report, GinIndex(search_vector(), name="report_search"))
    schema_editor.execute("DROP INDEX IF EXISTS report_search_document")
    schema_editor.execute("ALTER TABLE reports_report DROP COLUMN IF EXISTS search_document")


class Migration(migrations.Migration):
    dependencies = [("reports", "0006_merge_0002_delivery_preferences_0005_gift_links")]

    operations = [migrations.RunPython(forwards, backwards)]
