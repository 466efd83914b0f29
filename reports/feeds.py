"""RSS and Atom feeds: all reports, per topic and per kind. Teaser text and link only; the
body never goes into a feed, whoever fetches it."""

from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.syndication.views import Feed
from django.http import Http404, HttpRequest
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed

from reports.models import Report, ReportQuerySet, Topic
from reports.selectors import listing
from reports.sharing import report_description

FEED_ITEMS = 30


class ReportsFeed(Feed):
    """All published reports, newest first. `obj` is what a subclass's `get_object`
    returns (a topic, a kind), hence `Any` here."""

    description_template = None

    def title(self, obj: Any) -> str:
        return settings.SITE_NAME

    def link(self, obj: Any) -> str:
        return reverse("reports:home")

    def description(self, obj: Any) -> str:
        return f"New tests, shootouts and investigations from {settings.SITE_NAME}."

    def reports(self, obj: Any) -> ReportQuerySet:
        return Report.objects.published()

    def items(self, obj: Any) -> list[Report]:
        return list(listing(self.reports(obj))[:FEED_ITEMS])

    def item_title(self, item: Report) -> str:
        return f"{item.get_kind_display()}: {item.title}"

    def item_description(self, item: Report) -> str:
        return report_description(item)

    def item_link(self, item: Report) -> str:
        return item.get_absolute_url()

    def item_pubdate(self, item: Report) -> datetime | None:
        return item.published_at

    def item_updateddate(self, item: Report) -> datetime | None:
        return item.revised_at or item.published_at

    def item_author_name(self, item: Report) -> str | None:
        return item.author.get_full_name() if item.author else None

    def item_categories(self, item: Report) -> list[str]:
        return [item.get_kind_display()]


class TopicFeed(ReportsFeed):
    def get_object(self, request: HttpRequest, slug: str) -> Topic:
        return get_object_or_404(Topic, slug=slug)

    def title(self, obj: Topic) -> str:
        return f"{settings.SITE_NAME}: {obj.name}"

    def link(self, obj: Topic) -> str:
        return reverse("reports:topic", kwargs={"slug": obj.slug})

    def description(self, obj: Topic) -> str:
        return obj.description or f"Reports about {obj.name}."

    def reports(self, obj: Topic) -> ReportQuerySet:
        return Report.objects.published().for_topic(obj)


class KindFeed(ReportsFeed):
    def get_object(self, request: HttpRequest, kind: str) -> str:
        if kind not in Report.Kind.values:
            raise Http404("No such kind of report.")
        return kind

    def title(self, obj: str) -> str:
        return f"{settings.SITE_NAME}: {Report.Kind(obj).label}"

    def link(self, obj: str) -> str:
        return reverse("reports:kind", kwargs={"kind": obj})

    def reports(self, obj: str) -> ReportQuerySet:
        return Report.objects.published().of_kind(obj)


class AtomReportsFeed(ReportsFeed):
    feed_type = Atom1Feed
    subtitle = ReportsFeed.description


class AtomTopicFeed(TopicFeed):
    feed_type = Atom1Feed
    subtitle = TopicFeed.description


class AtomKindFeed(KindFeed):
    feed_type = Atom1Feed
    subtitle = KindFeed.description
