from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("reports", "0017_day_count_folds"),
    ]

    operations = [
        migrations.AddField(
            model_name="delivery",
            name="provider_message_id",
            field=models.CharField(blank=True, max_length=200),
        ),
    ]
