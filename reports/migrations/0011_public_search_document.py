"""Search matches a paid report on its public text alone for readers who may not read its
body, so that results, order and counts never depend on the paid text.

- `search_names` (both databases): the report's topics' names and its author's display
  name, kept by reports/search_index.py. Filled here.
- On PostgreSQL, outside the migration state like 0007 and 0009: `search_public`, the public
  text (title A, teaser B, names D) as a stored vector replacing 0009's `search_head`
  (title and teaser), GIN-indexed for paid reports; and `search_document` rebuilt as the
  public text and the body (C), GIN-indexed for all reports (entitled readers) and for free
  reports alone (everyone else: their search never reads a paid report's body vector,
  not even in the index). Every match is ranked on `search_public`.

The old columns are dropped before the names are filled, so that filling them does not
make PostgreSQL recompute every body's vector; the new columns compute once.
"""

from django.db import migrations, models

PUBLIC = (
    "setweight(to_tsvector('english'::regconfig, COALESCE(title, '')::text), 'A') || "
    "setweight(to_tsvector('english'::regconfig, COALESCE(teaser, '')), 'B') || "
    "setweight(to_tsvector('english'::regconfig, COALESCE(search_names, '')), 'D')"
)
DOCUMENT = f"{PUBLIC} || setweight(to_tsvector('english'::regconfig, COALESCE(body, '')), 'C')"
OLD_DOCUMENT = (
    "setweight(to_tsvector('english'::regconfig, COALESCE(title, '')::text), 'A') || "
    "setweight(to_tsvector('english'::regconfig, COALESCE(teaser, '')), 'B') || "
    "setweight(to_tsvector('english'::regconfig, COALESCE(body, '')), 'C')"
)
OLD_HEAD = (
    "setweight(to_tsvector('english'::regconfig, COALESCE(title, '')::text), 'A') || "
    "setweight(to_tsvector('english'::regconfig, COALESCE(teaser, '')), 'B')"
)
BATCH = 500


def _fill_names(apps):
    """The names as reports/search_index.py `search_names_for` writes them (kept here as
    they are today: a migration does not follow later changes to the code)."""
    report_model = apps.get_model("reports", "Report")
    reports = report_model.objects.order_by().select_related("author").prefetch_related("topics")
    changed = []
    for report in reports.iterator(chunk_size=BATCH):
        names = sorted(topic.name for topic in report.topics.all())
        if report.author is not None and report.author.display_name:
            names.append(report.author.display_name)
        report.search_names = "\n".join(names)
        if report.search_names:
            changed.append(report)
    report_model.objects.bulk_update(changed, ["search_names"], batch_size=BATCH)


def forwards(apps, schema_editor):
    postgres = schema_editor.connection.vendor == "postgresql"
    if postgres:
        schema_editor.execute("ALTER TABLE reports_report DROP COLUMN IF EXISTS search_head")
        schema_editor.execute("ALTER TABLE reports_report DROP COLUMN IF EXISTS search_document")
    _fill_names(apps)
    if not postgres:
        return
    schema_editor.execute(
        "ALTER TABLE reports_report "
        f"ADD COLUMN search_document tsvector GENERATED ALWAYS AS ({DOCUMENT}) STORED, "
        f"ADD COLUMN search_public tsvector GENERATED ALWAYS AS ({PUBLIC}) STORED"
    )
    schema_editor.execute(
        "CREATE INDEX report_search_document ON reports_report USING gin (search_document)"
    )
    schema_editor.execute(
        "CREATE INDEX report_search_document_free ON reports_report "
        "USING gin (search_document) WHERE is_free"
    )
    schema_editor.execute(
        "CREATE INDEX report_search_public_paid ON reports_report "
        "USING gin (search_public) WHERE NOT is_free"
    )


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("ALTER TABLE reports_report DROP COLUMN IF EXISTS search_public")
    schema_editor.execute("ALTER TABLE reports_report DROP COLUMN IF EXISTS search_document")
    schema_editor.execute(
        "ALTER TABLE reports_report "
        f"ADD COLUMN search_document tsvector GENERATED ALWAYS AS ({OLD_DOCUMENT}) STORED, "
        f"ADD COLUMN search_head tsvector GENERATED ALWAYS AS ({OLD_HEAD}) STORED"
    )
    schema_editor.execute(
        "CREATE INDEX report_search_document ON reports_report USING gin (search_document)"
    )


class Migration(migrations.Migration):
    dependencies = [("reports", "0010_delivery_batches")]

    operations = [
        migrations.AddField(
            model_name="report",
            name="search_names",
            field=models.TextField(blank=True, default="", editable=False),
        ),
        # Backwards, the old columns are rebuilt before search_names is removed.
        migrations.RunPython(forwards, backwards),
    ]
