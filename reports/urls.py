from django.contrib.sitemaps.views import sitemap
from django.urls import path

from publisher.cache.pages import cached_public_page
from reports import feeds
from reports.comments import views as comment_views
from reports.counting import views as counting_views
from reports.gifts import views as gift_views
from reports.notifications import views as notification_views
from reports.sitemaps import SITEMAPS
from reports.surrogate_keys import FEED, SITEMAP
from reports.views import pages, search

# Feeds and the sitemap are the same for every reader: public, and cached server-side. The
# site's feeds name the `feed` listing; a topic's or kind's add their listing's key
# themselves (reports/feeds.py).
site_feed = cached_public_page(keys=[FEED])
public = cached_public_page()

app_name = "reports"

urlpatterns = [
    path("", pages.home, name="home"),
    path("reports/<slug:slug>/", pages.report_detail, name="detail"),
    path("reports/<slug:slug>/gift/", gift_views.gift_create, name="gift_create"),
    path("gifts/", gift_views.gift_list, name="gift_list"),
    path("gifts/<int:gift_id>/revoke/", gift_views.gift_revoke, name="gift_revoke"),
    path("gift/<str:token>/", gift_views.gift_open, name="gift_open"),
    path("reading/<str:token>.gif", counting_views.reading_mark, name="reading_mark"),
    path("reports/<slug:slug>/comments/", comment_views.comment_post, name="comment_post"),
    path("comments/<int:comment_id>/edit/", comment_views.comment_edit, name="comment_edit"),
    path("comments/<int:comment_id>/delete/", comment_views.comment_delete, name="comment_delete"),
    path("comments/<int:comment_id>/report/", comment_views.comment_flag, name="comment_flag"),
    path("comments/<int:comment_id>/hide/", comment_views.comment_hide, name="comment_hide"),
    path("comments/<int:comment_id>/unhide/", comment_views.comment_unhide, name="comment_unhide"),
    path(
        "comments/replies/unsubscribe/<str:token>/",
        comment_views.reply_unsubscribe,
        name="reply_unsubscribe",
    ),
    path("topics/<slug:slug>/", pages.topic_detail, name="topic"),
    path("kinds/<slug:kind>/", pages.kind_detail, name="kind"),
    path("authors/<slug:slug>/", pages.author_detail, name="author"),
    path("search/", search.search, name="search"),
    path("feed/", site_feed(feeds.ReportsFeed()), name="feed"),
    path("feed/topics/<slug:slug>/", public(feeds.TopicFeed()), name="topic-feed"),
    path("feed/kinds/<slug:kind>/", public(feeds.KindFeed()), name="kind-feed"),
    path("feed/atom/", site_feed(feeds.AtomReportsFeed()), name="atom"),
    path("feed/atom/topics/<slug:slug>/", public(feeds.AtomTopicFeed()), name="topic-atom"),
    path("feed/atom/kinds/<slug:kind>/", public(feeds.AtomKindFeed()), name="kind-atom"),
    path(
        "sitemap.xml",
        cached_public_page(params=["p"], keys=[SITEMAP])(sitemap),
        {"sitemaps": SITEMAPS},
        name="sitemap",
    ),
    path("robots.txt", pages.robots_txt, name="robots"),
    path(
        "newsletter/preferences/",
        notification_views.newsletter_preferences,
        name="newsletter_preferences",
    ),
    path(
        "newsletter/preferences/<str:token>/",
        notification_views.newsletter_preferences_by_link,
        name="newsletter_preferences_link",
    ),
]
