"""Keep each report's title (A) and teaser (B) as a small stored search vector of its own,
to rank search results by.

Ranking on the whole document (migration 0007) reads every matching report's vector, which
for a ~30 KB body is a compressed value stored out of line: when a common word matches
nearly every report, a search decompressed thousands of them (about a quarter of a second
per search at 10,000 reports). Matching stays on the full document through its GIN index;
ranking uses this vector, a few hundred bytes kept in the row. PostgreSQL only, and outside
the migration state like 0007, so SQLite (`make run`) never sees it.
"""

from django.db import migrations

EXPRESSION = (
    "setweight(to_tsvector('english'::regconfig, COALESCE(title, '')::text), 'A') || "
    "setweight(to_tsvector('english'::regconfig, COALESCE(teaser, '')), 'B')"
)


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        "ALTER TABLE reports_report ADD COLUMN IF NOT EXISTS search_head tsvector "
        f"GENERATED ALWAYS AS ({EXPRESSION}) STORED"
    )


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("ALTER TABLE reports_report DROP COLUMN IF EXISTS search_head")


class Migration(migrations.Migration):
    dependencies = [("reports", "0008_delivery_report_index_covered")]

    operations = [migrations.RunPython(forwards, backwards)]
