"""Site pages (About, Contact, Privacy, Terms), seeded with sensible first versions that
editors then make their own; and what a report's body holds, counted for the paywall.

The counts of existing reports are taken with the renderer as it is when this runs
(`report_save` counts new and edited reports the same way): imported inside the function,
so loading this migration never depends on it.
"""

import django.core.validators
from django.db import migrations, models

BATCH = 200

PAGES = [
    (
        "about",
        "About",
        """\
We test home-energy equipment and publish what we measure: solar inverters, home batteries,
heat pumps, EV chargers and the rest of what installers fit and homeowners live with.

## How we work

- **Independent.** We carry no advertising and take no payment from manufacturers. Our
  readers' subscriptions pay for the lab, the equipment and the time.
- **Measured, not quoted.** Every test runs on our own bench, under conditions we describe in
  the report, so that you can judge the numbers and compare them across reports.
- **Corrected in the open.** When we change a published report in substance, it says so at
  the top, with the date and what changed.

## What you can read

Everyone can read each report's introduction and our free reports. Subscribers read every
report in full, with the data tables and charts, and discuss them with each other under each
report. New-report emails are free for everyone.
""",
    ),
    (
        "contact",
        "Contact",
        """\
## Editors

Tips, corrections and questions about a report: write to the editors at
[editors@example.com](mailto:editors@example.com). Tell us which report, and what you saw.

## Subscriptions and billing

Your [account page](/accounts/profile/) shows your subscription: from there you can change
your card, switch plans or cancel. For anything else about billing, write to
[billing@example.com](mailto:billing@example.com).

## Team licences

For a licence for your company, see [Pricing](/subscribe/#teams).
""",
    ),
    (
        "privacy",
        "Privacy",
        """\
This page says what we keep about you, why, and what you can do about it.

## Your account

When you sign up we keep your email address, your password (only as a secure hash, never the
password itself), the name you choose to show with your comments and, if you give it, your
company. We use them to let you log in, to show your comments and to write to you about your
account.

## Payments

Card payments are handled by Stripe, our payment provider. We never see or store your card
number; we keep the state of your subscription (its plan, status and renewal date) so that
we know what you may read.

## New-report emails

If you ask for them we keep your address, and, as the record of your consent, when you
confirmed it, from which form and from which network address. Every email has a one-click
unsubscribe link, and you choose which kinds and topics you hear about.

## Cookies

We set a session cookie when you log in and a security cookie on forms that need one. We use
no advertising cookies and no third-party tracking.

## Videos

Videos in our reports are embedded in their providers' privacy-enhanced modes. Playing one
connects your browser to that provider (YouTube or Vimeo).

## Deleting your account

You can delete your account from your account page at any time: your subscription ends and
your account details are removed. Comments you posted stay, shown as from a deleted account.
New-report emails are a choice of their own: the unsubscribe link in each one ends them. To
ask what we hold about you, see [Contact](/contact/).
""",
    ),
    (
        "terms",
        "Terms",
        """\
## Subscriptions

A subscription is monthly or annual and renews automatically until you cancel it. You can
cancel at any time from your account page: you keep full access until the end of the period
you paid for, and you are not charged again. If a renewal payment fails, you keep access for a
few days while the payment is retried.

## Using what you read

Reports are for your own use and your work. Quoting short passages with a link to the report
is welcome; republishing a report, or its data tables and charts, in full is not.

## Gift links

A subscriber may share a limited number of reports each month through gift links. A gift
link opens that one report for a limited time; it does not open comments or other reports.

## Comments

Comments are for subscribers. Be civil and stay on the subject of the report. Moderators may
hide comments that are not, and may stop an account from commenting.

## Our reports

We test carefully and correct openly, but our reports are not advice for your particular
installation: ask a qualified installer before you buy or fit equipment.
""",
    ),
]


def seed_pages(apps, schema_editor):
    site_page = apps.get_model("reports", "SitePage")
    for slug, title, body in PAGES:
        site_page.objects.get_or_create(slug=slug, defaults={"title": title, "body": body})


def count_bodies(apps, schema_editor):
    from reports.rendering import body_figures

    report_model = apps.get_model("reports", "Report")
    fields = ["body_words", "body_tables", "body_figures", "body_videos"]
    batch = []
    for report in report_model.objects.only("pk", "body").iterator(chunk_size=BATCH):
        counted = body_figures(report.body)
        report.body_words, report.body_tables = counted.words, counted.tables
        report.body_figures, report.body_videos = counted.figures, counted.videos
        batch.append(report)
        if len(batch) == BATCH:
            report_model.objects.bulk_update(batch, fields)
            batch = []
    report_model.objects.bulk_update(batch, fields)


class Migration(migrations.Migration):

    dependencies = [
        ('reports', '0012_comment_hidden_reason'),
    ]

    operations = [
        migrations.CreateModel(
            name='SitePage',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('slug', models.SlugField(help_text='Its address: /<slug>/. Cannot be an address the site already uses.', max_length=60, unique=True)),
                ('title', models.CharField(max_length=120)),
                ('body', models.TextField(help_text='Markdown, shown to everyone.')),
                ('updated_at', models.DateTimeField(auto_now=True)),
            ],
            options={
                'ordering': ['title'],
            },
        ),
        migrations.AddField(
            model_name='report',
            name='body_figures',
            field=models.PositiveSmallIntegerField(default=0, editable=False),
        ),
        migrations.AddField(
            model_name='report',
            name='body_tables',
            field=models.PositiveSmallIntegerField(default=0, editable=False),
        ),
        migrations.AddField(
            model_name='report',
            name='body_videos',
            field=models.PositiveSmallIntegerField(default=0, editable=False),
        ),
        migrations.AddField(
            model_name='report',
            name='body_words',
            field=models.PositiveIntegerField(default=0, editable=False),
        ),
        migrations.AddField(
            model_name='report',
            name='video_minutes',
            field=models.PositiveSmallIntegerField(blank=True, help_text='The running time of the video in the body (of them all, if several), in minutes. Public: the paywall shows it to readers who cannot watch yet.', null=True, validators=[django.core.validators.MinValueValidator(1), django.core.validators.MaxValueValidator(1440)], verbose_name='video length (minutes)'),
        ),
        migrations.RunPython(seed_pages, migrations.RunPython.noop),
        migrations.RunPython(count_bodies, migrations.RunPython.noop),
    ]
