from django.db import migrations

BATCH = 1000


def _clean(model, fields, *, allow_empty):
    from publisher.text import text_normalise_name

    changed = []
    for row in model.objects.only("pk", *fields).order_by("pk").iterator(chunk_size=BATCH):
        dirty = False
        for field in fields:
            value = getattr(row, field)
            name = text_normalise_name(value)
            # A required name with nothing visible is left for staff: inventing one is worse.
            if name != value and (name or allow_empty):
                setattr(row, field, name)
                dirty = True
        if dirty:
            changed.append(row)
    model.objects.bulk_update(changed, fields, batch_size=BATCH)


def strip_invisible_from_names(apps, schema_editor):
    """Names stored before forms and services cleaned them lose their invisible characters."""
    _clean(apps.get_model("accounts", "User"), ["display_name", "company"], allow_empty=True)
    _clean(apps.get_model("accounts", "Organisation"), ["name"], allow_empty=False)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0007_organisation_removal")]

    operations = [
        migrations.RunPython(strip_invisible_from_names, migrations.RunPython.noop, elidable=True)
    ]
