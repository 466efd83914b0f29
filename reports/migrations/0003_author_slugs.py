from django.db import migrations


def give_authors_slugs(apps, schema_editor):
    from reports.authors import author_slug_base

    User = apps.get_model("accounts", "User")
    taken = set(User.objects.exclude(slug=None).values_list("slug", flat=True))
    for user in User.objects.filter(slug=None, reports__isnull=False).distinct().order_by("pk"):
        base = author_slug_base(display_name=user.display_name, user_id=user.pk)
        slug, number = base, 2
        while slug in taken:
            slug, number = f"{base}-{number}", number + 1
        taken.add(slug)
        User.objects.filter(pk=user.pk).update(slug=slug)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_user_slug"),
        ("reports", "0002_citations_cover_search"),
    ]

    operations = [migrations.RunPython(give_authors_slugs, migrations.RunPython.noop)]
