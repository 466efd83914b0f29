"""Index every report's public text (`search_public`), not only paid reports'.

Search ranks the reports whose public text matches first, for every reader alike
(reports/search.py), so it looks them up among free and paid reports together: a word in a
few titles is found through this index, not by reading every report's row. The index of paid
reports' public text alone (migration 0011) has no query left to answer and goes. PostgreSQL
only, outside the migration state like 0011's indexes.
"""

from django.db import migrations


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        "CREATE INDEX IF NOT EXISTS report_search_public ON reports_report "
        "USING gin (search_public)"
    )
    schema_editor.execute("DROP INDEX IF EXISTS report_search_public_paid")


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        "CREATE INDEX IF NOT EXISTS report_search_public_paid ON reports_report "
        "USING gin (search_public) WHERE NOT is_free"
    )
    schema_editor.execute("DROP INDEX IF EXISTS report_search_public")


class Migration(migrations.Migration):
    dependencies = [("reports", "0018_delivery_provider_message_id")]

    operations = [migrations.RunPython(forwards, backwards)]
