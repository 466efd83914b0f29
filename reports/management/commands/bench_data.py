"""The benchmark dataset (`make bench`): 10,000 reports with ~30 KB bodies, 100 topics,
20,000 users (a third of them subscribers), 100,000 confirmed newsletter subscribers, and
reports with 0, 20, 200 and 2,000 comments; for the publisher's dashboard, a year of
subscription history per member and a month of daily counts per report.

Reports are saved one by one through `report_save`, as an editor's would be (citations,
author pages, cache); the other rows are batch inserts. A progress bar shows each step.
Idempotent: rows are recognised by their `bench-` slugs
and e-mail addresses, and a complete dataset is left alone; `--reset` deletes the bench rows
first. Text is generated from a fixed seed, so every run builds the same dataset.
"""

import random
from datetime import timedelta
from itertools import batched

from allauth.account.models import EmailAddress
from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand, CommandParser
from django.db import connection, transaction
from django.utils import timezone

from accounts.models import Membership, NewsletterSubscriber, SubscriptionChange, User
from publisher.cache.generations import page_cache_invalidate_all
from publisher.progress import ProgressBar
from reports.models import Comment, Report, ReportDayCount, Topic
from reports.publishing import report_save

REPORTS = 10_000
TOPICS = 100
USERS = 20_000
SUBSCRIBER_SHARE = 3  # every third user has an active membership
AUTHORS = 20
NEWSLETTER_SUBSCRIBERS = 100_000
BODY_BYTES = 30_000
COMMENT_REPORTS = {
    0: "bench-comments-0",
    20: "bench-comments-20",
    200: "bench-comments-200",
    2000: "bench-comments-2000",
}
# Log in as these (password BENCH_PASSWORD) or let `make bench` make sessions for them.
SUBSCRIBER_EMAIL = "bench-subscriber@example.com"
EDITOR_EMAIL = "bench-editor@example.com"
BENCH_PASSWORD = "bench-password-2026"  # noqa: S105 - a local benchmark account
BATCH = 500

_VOCABULARY = """inverter battery heat pump solar panel efficiency standby draw firmware grid export
limit installer warranty thermal derating cycle capacity kilowatt hour measurement bench
load curve peak shaving tariff backup transfer switch isolation relay harmonic distortion
cold climate defrost refrigerant compressor flow temperature coefficient performance noise
level decibel outdoor unit mounting bracket cable gauge breaker residual current device
monitoring app cloud outage local control modbus register sampling interval data logger
ambient humidity enclosure rating corrosion salt spray vibration endurance teardown
capacitor electrolytic ripple current fan bearing heat sink solder joint conformal coating
calibration reference meter uncertainty repeatability sample unit retail price dollars
"""
WORDS = _VOCABULARY.split()
_SYLLABLES = ["ka", "lo", "mi", "ne", "su", "ra", "ti", "vo", "de", "ba", "xo", "pe", "gu", "ry"]


def _vocabulary(rng: random.Random, size: int = 4000) -> tuple[list[str], list[float]]:
    """Words and cumulative weights falling off like a natural language's (Zipf): the domain
    words spread from the most frequent to the rare, so searches match anything from nearly
    every report to a few dozen."""
    invented = sorted(
        {"".join(rng.choices(_SYLLABLES, k=rng.randint(2, 4))) for _ in range(size * 2)}
    )[:size]
    rng.shuffle(invented)
    words = list(invented)
    for index, word in enumerate(WORDS):
        words.insert(index * (len(invented) // len(WORDS)), word)
    cumulative, total = [], 0.0
    for rank in range(len(words)):
        total += 1 / (rank + 8)
        cumulative.append(total)
    return words, cumulative


KIND_VALUES = list(Report.Kind.values)


def _sentence(rng: random.Random, vocabulary: tuple[list[str], list[float]] | None = None) -> str:
    words = (
        rng.choices(vocabulary[0], cum_weights=vocabulary[1], k=rng.randint(8, 18))
        if vocabulary
        else rng.choices(WORDS, k=rng.randint(8, 18))
    )
    words[0] = words[0].capitalize()
    if rng.random() < 0.4:
        words.insert(rng.randint(1, len(words) - 1), f"{rng.uniform(0.5, 99.9):.1f}")
    return " ".join(words) + "."


def _paragraphs(rng: random.Random, count: int) -> list[str]:
    vocabulary = _vocabulary(rng)
    return [
        " ".join(_sentence(rng, vocabulary) for _ in range(rng.randint(4, 7))) for _ in range(count)
    ]


def _body(rng: random.Random, pool: list[str], cited: list[str]) -> str:
    """Markdown of about BODY_BYTES: sections of paragraphs, a results table, a list and
    links to other reports (which become citations)."""
    parts, size, section = [], 0, 0
    while size < BODY_BYTES:
        section += 1
        parts.append(f"## {rng.choice(WORDS).capitalize()} {rng.choice(WORDS)} ({section})")
        for _ in range(rng.randint(3, 6)):
            parts.append(rng.choice(pool))
        if section % 3 == 1:
            rows = [
                f"| {rng.choice(WORDS)} | {rng.uniform(1, 500):.1f} | {rng.uniform(1, 99):.1f} |"
                for _ in range(6)
            ]
            parts.append("| unit | watts | percent |\n|---|---:|---:|\n" + "\n".join(rows))
        if section % 4 == 2:
            parts.append("\n".join(f"- {_sentence(rng)}" for _ in range(4)))
        size = sum(len(part) for part in parts)
    for slug in cited:
        parts.insert(rng.randint(1, len(parts)), f"See [our earlier report](/reports/{slug}/).")
    return "\n\n".join(parts)


class Command(BaseCommand):
    help = "Build the benchmark dataset (idempotent; --reset rebuilds it)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--reset", action="store_true", help="Delete the bench rows first.")
        parser.add_argument("--reports", type=int, default=REPORTS)
        parser.add_argument("--users", type=int, default=USERS)
        parser.add_argument("--subscribers", type=int, default=NEWSLETTER_SUBSCRIBERS)

    def handle(
        self,
        *args: object,
        reset: bool,
        reports: int,
        users: int,
        subscribers: int,
        **options: object,
    ) -> None:
        self.rng = random.Random(7)  # reproducible text, not security
        self.now = timezone.now()
        if reset:
            self._reset()
        with transaction.atomic():
            topics = self._topics()
            all_users = self._users(users)
            authors = [user for user in all_users if user.is_staff]
            self._reports(reports, topics, authors)
            self._comments([user for user in all_users if not user.is_staff])
        self._newsletter(subscribers)
        self._history()
        self._day_counts()
        with connection.cursor() as cursor:
            # As autovacuum would have by now (this machine's PostgreSQL runs without it):
            # a freshly loaded table has no visibility map and unset hint bits, and the first
            # pages measured would pay for that.
            cursor.execute("VACUUM (ANALYZE)" if connection.vendor == "postgresql" else "ANALYZE")
        page_cache_invalidate_all()
        self.stdout.write(
            self.style.SUCCESS(
                f"Bench data ready: {Report.objects.filter(slug__startswith='bench-').count():,} "
                f"reports, {Topic.objects.filter(slug__startswith='bench-').count()} topics, "
                f"{User.objects.filter(email__startswith='bench-').count():,} users, "
                f"{Comment.objects.filter(report__slug__startswith='bench-').count():,} comments."
            )
        )

    # Steps ---------------------------------------------------------------------------------

    def _reset(self) -> None:
        self.stdout.write("Deleting the bench rows…")
        SubscriptionChange.objects.filter(
            kind=SubscriptionChange.Kind.MEMBERSHIP,
            holder_id__in=Membership.objects.filter(user__email__startswith="bench-").values("pk"),
        ).delete()
        NewsletterSubscriber.objects.filter(email__startswith="bench-").delete()
        Report.objects.filter(slug__startswith="bench-").delete()
        Topic.objects.filter(slug__startswith="bench-").delete()
        User.objects.filter(email__startswith="bench-").delete()

    def _topics(self) -> list[Topic]:
        Topic.objects.bulk_create(
            [
                Topic(
                    slug=f"bench-topic-{n}",
                    name=f"{WORDS[n % len(WORDS)].capitalize()} {n}",
                    description=_sentence(self.rng),
                )
                for n in range(TOPICS)
            ],
            ignore_conflicts=True,
        )
        return list(Topic.objects.filter(slug__startswith="bench-topic-").order_by("pk"))

    def _users(self, count: int) -> list[User]:
        password = make_password(BENCH_PASSWORD)
        named = [
            (SUBSCRIBER_EMAIL, "Bench Subscriber", False),
            (EDITOR_EMAIL, "Bench Editor", True),
        ]
        rows = named + [
            (f"bench-author-{n}@example.com", f"Author {n}", True) for n in range(AUTHORS)
        ]
        rows += [
            (f"bench-user-{n}@example.com", f"Reader {n}", False) for n in range(count - len(rows))
        ]
        existing = set(
            User.objects.filter(email__startswith="bench-").values_list("email", flat=True)
        )
        missing = [row for row in rows if row[0] not in existing]
        progress = ProgressBar(self.stdout, "users", len(rows))
        progress.advance(len(rows) - len(missing))
        for batch in batched(missing, 2000, strict=False):
            created = User.objects.bulk_create(
                User(
                    email=email,
                    display_name=name,
                    is_staff=staff,
                    password=password,
                    company=self.rng.choice(["", "", "Northwind Installers", "Sunfield Energy"]),
                    slug=email.split("@")[0] if staff else None,
                )
                for email, name, staff in batch
            )
            EmailAddress.objects.bulk_create(
                EmailAddress(user=user, email=user.email, verified=True, primary=True)
                for user in created
            )
            Membership.objects.bulk_create(
                Membership(
                    user=user,
                    status=Membership.Status.ACTIVE,
                    plan="annual",
                    current_period_end=self.now + timedelta(days=365),
                )
                for index, user in enumerate(created)
                if not user.is_staff
                and (user.email == SUBSCRIBER_EMAIL or index % SUBSCRIBER_SHARE == 0)
            )
            progress.advance(len(batch))
        return list(
            User.objects.filter(email__startswith="bench-").only("pk", "is_staff").order_by("pk")
        )

    def _reports(self, count: int, topics: list[Topic], authors: list[User]) -> None:
        done = Report.objects.filter(slug__startswith="bench-").count()
        progress = ProgressBar(self.stdout, "reports (~30 KB each)", count)
        progress.advance(done)
        if done >= count:
            return
        pool = _paragraphs(self.rng, 3000)
        slugs = [
            *COMMENT_REPORTS.values(),
            *(f"bench-report-{n}" for n in range(count - len(COMMENT_REPORTS))),
        ]
        for index in range(done, count):
            # Links only to reports already written, so every citation resolves.
            cited = [slugs[self.rng.randrange(index)] for _ in range(min(index, 2))]
            report = Report(
                slug=slugs[index],
                title=f"{_sentence(self.rng)[:-1][:150]}",
                kind=KIND_VALUES[index % len(KIND_VALUES)],
                author=authors[index % len(authors)],
                teaser=" ".join(_sentence(self.rng) for _ in range(4)),
                body=_body(self.rng, pool, cited),
                is_free=index % 10 == 9,
                status=Report.Status.PUBLISHED,
                published_at=self.now - timedelta(hours=index * 4 + 1),
            )
            report_topics = self.rng.sample(topics, self.rng.randint(1, 3))
            report_save(report=report, topics=report_topics, now=self.now)
            if index % 100 == 99 or index == count - 1:
                progress.show(index + 1)

    def _comments(self, readers: list[User]) -> None:
        for total, slug in COMMENT_REPORTS.items():
            report = Report.objects.get(slug=slug)
            existing = Comment.objects.filter(report=report).count()
            if existing >= total or total == 0:
                continue
            progress = ProgressBar(self.stdout, f"comments on {slug}", total)
            top_level: list[Comment] = []
            for numbers in batched(range(existing, total), BATCH, strict=False):
                batch = []
                for n in numbers:
                    text = " ".join(_sentence(self.rng) for _ in range(self.rng.randint(1, 4)))
                    parent = self.rng.choice(top_level) if top_level and n % 4 == 3 else None
                    batch.append(
                        Comment(
                            report=report,
                            author=readers[n % len(readers)],
                            parent=parent,
                            body=text,
                            body_html=f"<p>{text}</p>",
                            created_at=self.now - timedelta(minutes=(total - n) * 7),
                        )
                    )
                created = Comment.objects.bulk_create(batch)
                top_level += [comment for comment in created if comment.parent_id is None]
                progress.advance(len(created))
            Report.objects.filter(pk=report.pk).update(comment_count=total)

    def _newsletter(self, count: int) -> None:
        existing = NewsletterSubscriber.objects.filter(email__startswith="bench-").count()
        progress = ProgressBar(self.stdout, "newsletter subscribers", count)
        progress.advance(existing)
        for numbers in batched(range(existing, count), 5000, strict=False):
            NewsletterSubscriber.objects.bulk_create(
                [
                    NewsletterSubscriber(
                        email=f"bench-reader-{n}@example.net",
                        consent_at=self.now,
                        consent_source="bench",
                        confirmed_at=self.now,
                    )
                    for n in numbers
                ],
                ignore_conflicts=True,
            )
            progress.advance(len(numbers))

    def _history(self) -> None:
        """Each bench member's year in the subscription ledger: joined on the annual plan,
        perhaps a switch to monthly, perhaps a late payment, active now (as their rows are)."""
        memberships = list(
            Membership.objects.filter(user__email__startswith="bench-")
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        if SubscriptionChange.objects.filter(
            kind=SubscriptionChange.Kind.MEMBERSHIP, holder_id__in=memberships[:1]
        ).exists():
            return
        progress = ProgressBar(self.stdout, "subscription history", len(memberships))
        annual, monthly = round(29000 / 12), 2900
        for batch in batched(memberships, 2000, strict=False):
            rows = []
            for pk in batch:
                at = self.now - timedelta(days=self.rng.randint(1, 365))
                states = [(at, Membership.Status.ACTIVE, "annual", annual)]
                if self.rng.random() < 0.2:
                    at += (self.now - at) * self.rng.random()
                    states.append((at, Membership.Status.ACTIVE, "monthly", monthly))
                if self.rng.random() < 0.05:
                    plan, mrr = states[-1][2], states[-1][3]
                    at += (self.now - at) * self.rng.random()
                    states.append((at, Membership.Status.PAST_DUE, plan, mrr))
                    at += (self.now - at) * self.rng.random()
                    states.append((at, Membership.Status.ACTIVE, plan, mrr))
                previous = 0
                for index, (start, status, plan, mrr) in enumerate(states):
                    until = states[index + 1][0] if index + 1 < len(states) else None
                    rows.append(
                        SubscriptionChange(
                            kind=SubscriptionChange.Kind.MEMBERSHIP, holder_id=pk, at=start,
                            until=until, status=status, plan=plan, mrr=mrr,
                            previous_mrr=previous,
                        )
                    )  # fmt: skip
                    previous = mrr
            SubscriptionChange.objects.bulk_create(rows)
            progress.advance(len(batch))

    def _day_counts(self) -> None:
        """The last 30 days' counts of every bench report."""
        reports = list(
            Report.objects.filter(slug__startswith="bench-")
            .filter(day_counts__isnull=True)
            .order_by("pk")
            .values_list("pk", "is_free")
        )
        progress = ProgressBar(self.stdout, "daily counts", len(reports))
        today = timezone.localdate(self.now)
        for batch in batched(reports, 200, strict=False):
            rows = []
            for pk, is_free in batch:
                for offset in range(1, 31):
                    public = self.rng.randint(0, 400)
                    paywall = 0 if is_free else public * 2 // 3
                    rows.append(
                        ReportDayCount(
                            report_id=pk, day=today - timedelta(days=offset),
                            public_reads=public, entitled_reads=public // 3,
                            paywall_views=paywall, checkouts_started=paywall // 30,
                            subscriptions_paid=paywall // 80, gifts_opened=public // 100,
                        )
                    )  # fmt: skip
            ReportDayCount.objects.bulk_create(rows, ignore_conflicts=True)
            progress.advance(len(batch))
