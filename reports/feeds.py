"""RSS and Atom feeds: all reports, per topic and per kind. Teaser text and link only; the
body never goes into a feed, whoever fetches it.

Every link is absolute on SITE_URL before Django's `Feed` sees it: left as a path, `Feed`
would put it on the request's host (`get_current_site(request)`), and the page cache would
then serve that host to every later reader.
"""

from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.syndication.views import Feed
from django.http import Http404, HttpRequest
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed, Rss201rev2Feed

from publisher.cache.cdn import surrogate_keys_add
from publisher.site import site_url
from reports.models import Report, ReportQuerySet, Topic
from reports.selectors import listing
from reports.sharing import report_description
from reports.surrogate_keys import kind_key, topic_key

FEED_ITEMS = 30


class RssFeed(Rss201rev2Feed):
    """RSS 2.0 whose `atom:link rel="self"` names its type, as the RSS Advisory Board's
    best practices ask (validators warn without it)."""

    def add_root_elements(self, handler: Any) -> None:
        # Django writes atom:link without a type; have it skip the element, then write ours.
        feed_url = self.feed["feed_url"]
        self.feed["feed_url"] = None
        try:
            super().add_root_elements(handler)
        finally:
            self.feed["feed_url"] = feed_url
        if feed_url is not None:
            handler.addQuickElement(
                "atom:link",
                None,
                {"rel": "self", "href": feed_url, "type": self.content_type.split(";")[0]},
            )


class ReportsFeed(Feed):
    """All published reports, newest first. `obj` is what a subclass's `get_object`
    returns (a topic, a kind), hence `Any` here. `url_name` is this feed's own URL."""

    feed_type: type[Rss201rev2Feed | Atom1Feed] = RssFeed
    description_template = None
    url_name = "reports:feed"

    def url_kwargs(self, obj: Any) -> dict[str, str]:
        return {}

    def feed_url(self, obj: Any) -> str:
        return site_url(reverse(self.url_name, kwargs=self.url_kwargs(obj)))

    def title(self, obj: Any) -> str:
        return settings.SITE_NAME

    def link(self, obj: Any) -> str:
        return site_url(reverse("reports:home"))

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
        return site_url(item.get_absolute_url())

    def item_pubdate(self, item: Report) -> datetime | None:
        return item.published_at

    def item_updateddate(self, item: Report) -> datetime | None:
        return item.revised_at or item.published_at

    def item_author_name(self, item: Report) -> str | None:
        return item.author.byline_name if item.author else None

    def item_categories(self, item: Report) -> list[str]:
        return [item.get_kind_display()]


class TopicFeed(ReportsFeed):
    url_name = "reports:topic-feed"

    def url_kwargs(self, obj: Topic) -> dict[str, str]:
        return {"slug": obj.slug}

    def get_object(self, request: HttpRequest, slug: str) -> Topic:
        topic = get_object_or_404(Topic, slug=slug)
        surrogate_keys_add(request, [topic_key(topic.pk)])
        return topic

    def title(self, obj: Topic) -> str:
        return f"{settings.SITE_NAME}: {obj.name}"

    def link(self, obj: Topic) -> str:
        return site_url(reverse("reports:topic", kwargs={"slug": obj.slug}))

    def description(self, obj: Topic) -> str:
        return obj.description or f"Reports about {obj.name}."

    def reports(self, obj: Topic) -> ReportQuerySet:
        return Report.objects.published().for_topic(obj)


class KindFeed(ReportsFeed):
    url_name = "reports:kind-feed"

    def url_kwargs(self, obj: str) -> dict[str, str]:
        return {"kind": obj}

    def get_object(self, request: HttpRequest, kind: str) -> str:
        if kind not in Report.Kind.values:
            raise Http404("No such kind of report.")
        surrogate_keys_add(request, [kind_key(kind)])
        return kind

    def title(self, obj: str) -> str:
        return f"{settings.SITE_NAME}: {Report.Kind(obj).label}"

    def link(self, obj: str) -> str:
        return site_url(reverse("reports:kind", kwargs={"kind": obj}))

    def reports(self, obj: str) -> ReportQuerySet:
        return Report.objects.published().of_kind(obj)


class AtomReportsFeed(ReportsFeed):
    feed_type = Atom1Feed
    url_name = "reports:atom"
    subtitle = ReportsFeed.description


class AtomTopicFeed(TopicFeed):
    feed_type = Atom1Feed
    url_name = "reports:topic-atom"
    subtitle = TopicFeed.description


class AtomKindFeed(KindFeed):
    feed_type = Atom1Feed
    url_name = "reports:kind-atom"
    subtitle = KindFeed.description
