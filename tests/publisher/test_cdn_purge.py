"""Purging a CDN by surrogate key (publisher/cache/cdn.py, publisher/cache/tasks.py) against
local fakes of Fastly's and Cloudflare's purge APIs (tests/support/cdn_fakes.py): the keys a
change names reach the CDN in batches within its limits, authenticated; a refused token is
logged and not retried; passing trouble (5xx, 429, no connection) is retried with only
what was not purged yet; and nothing ever fails the write that asked for the purge."""

import io
import logging
import re

import pytest
import requests
from django.core.exceptions import ImproperlyConfigured
from django.core.management import CommandError, call_command
from django.http import HttpResponse

from publisher.cache.cdn import (
    MAX_KEYS_PER_PAGE,
    PurgeFailed,
    cdn_purge_keys,
    surrogate_keys_add,
)
from publisher.cache.generations import page_cache_invalidate_all
from publisher.cache.pages import CacheControlMiddleware, public_page
from publisher.cache.tasks import RETRY_BACKOFF_MAX_SECONDS, purge_cdn_keys, purge_retry_countdown
from publisher.env import CdnPurge, cdn_purge_from_url
from tests.publisher.test_settings import PRODUCTION_ENV, _run_django
from tests.support.cdn_fakes import (
    CLOUDFLARE_TOKEN,
    CLOUDFLARE_ZONE_ID,
    FASTLY_SERVICE_ID,
    FASTLY_TOKEN,
    CloudflareFake,
    FastlyFake,
    serving,
)

pytestmark = pytest.mark.django_db

KEYS_300 = [f"report-{n}" for n in range(300)]


# Fastly --------------------------------------------------------------------------------------


def test_fastly_gets_the_keys_in_the_surrogate_key_header_with_its_token(fastly):
    assert cdn_purge_keys(keys=["report-7", "home", "topic-3"]) == 1

    [call] = fastly.calls
    assert call.authorised and not call.soft
    assert sorted(call.keys) == ["home", "report-7", "topic-3"]


def test_fastly_gets_at_most_256_keys_a_call(fastly):
    assert cdn_purge_keys(keys=KEYS_300) == 2

    assert [len(call.keys) for call in fastly.calls] == [256, 44]
    assert sorted(fastly.purged) == sorted(KEYS_300)


def test_a_soft_purge_asks_fastly_to_mark_pages_stale(fastly, settings):
    settings.CDN_PURGE = CdnPurge("fastly", FASTLY_SERVICE_ID, FASTLY_TOKEN, soft=True)

    cdn_purge_keys(keys=["home"])

    assert fastly.calls[0].soft


def test_a_refused_fastly_token_is_not_retried(fastly, settings, caplog):
    settings.CDN_PURGE = CdnPurge("fastly", FASTLY_SERVICE_ID, "a-revoked-token", soft=False)

    with caplog.at_level(logging.ERROR, logger="publisher.cache.tasks"):
        purge_cdn_keys.delay(["home", "feed"])

    assert [call.status for call in fastly.calls] == [401]
    assert fastly.purged == []
    assert "given up after 1 attempt" in caplog.text
    assert "401 (Provided credentials are missing or invalid)" in caplog.text


def test_a_fastly_outage_is_retried_until_it_passes(fastly, caplog):
    fastly.fail_next(503, times=2)

    with caplog.at_level(logging.WARNING, logger="publisher.cache.tasks"):
        purge_cdn_keys.delay(["home", "report-7"])

    assert [call.status for call in fastly.calls] == [503, 503, 200]
    assert sorted(fastly.purged) == ["home", "report-7"]
    assert caplog.text.count("CDN purge failed, retrying") == 2


def test_a_retry_sends_only_the_batches_not_purged_yet(fastly):
    # The first batch of 256 goes through; the second meets a rate limit once.
    fastly.fail_next(429, retry_after="1", after=1)

    purge_cdn_keys.delay(KEYS_300)

    assert [(len(call.keys), call.status) for call in fastly.calls] == [
        (256, 200),
        (44, 429),
        (44, 200),
    ]
    assert sorted(fastly.purged) == sorted(KEYS_300)


def test_a_purge_is_given_up_after_its_retries_and_logged(fastly, settings, caplog):
    settings.CDN_PURGE_MAX_RETRIES = 2
    fastly.fail_next(500, times=10)

    with caplog.at_level(logging.WARNING, logger="publisher.cache.tasks"):
        assert purge_cdn_keys.delay(["home"]).get() == 0

    assert [call.status for call in fastly.calls] == [500, 500, 500]
    assert "given up after 3 attempt(s)" in caplog.text
    assert "(keys: home)" in caplog.text


def test_an_unreachable_cdn_is_a_passing_failure(settings):
    with serving(FastlyFake(service_id=FASTLY_SERVICE_ID, token=FASTLY_TOKEN)) as fake:
        closed = fake.url  # nothing listens there once the fake is closed
    settings.CDN_PURGE = CdnPurge("fastly", FASTLY_SERVICE_ID, FASTLY_TOKEN, soft=False)
    settings.FASTLY_API_BASE = closed

    with pytest.raises(PurgeFailed) as failure:
        cdn_purge_keys(keys=["home", "feed"])

    assert failure.value.retry
    assert failure.value.remaining == ["feed", "home"]


# Cloudflare ------------------------------------------------------------------------------------


def test_cloudflare_gets_the_tags_as_json_with_a_bearer_token(cloudflare):
    assert cdn_purge_keys(keys=["report-7", "home"]) == 1

    [call] = cloudflare.calls
    assert call.authorised and call.status == 200
    assert sorted(call.keys) == ["home", "report-7"]


def test_cloudflare_gets_at_most_30_tags_a_call(cloudflare):
    keys = [f"report-{n}" for n in range(70)]

    assert cdn_purge_keys(keys=keys) == 3

    assert [len(call.keys) for call in cloudflare.calls] == [30, 30, 10]
    assert sorted(cloudflare.purged) == sorted(keys)


def test_a_refused_cloudflare_token_is_logged_with_its_error_and_not_retried(
    cloudflare, settings, caplog
):
    settings.CDN_PURGE = CdnPurge("cloudflare", CLOUDFLARE_ZONE_ID, "wrong", soft=False)

    with caplog.at_level(logging.ERROR, logger="publisher.cache.tasks"):
        purge_cdn_keys.delay(["home"])

    assert [call.status for call in cloudflare.calls] == [403]
    assert "cloudflare answered 403 (10000: Authentication error)" in caplog.text


def test_a_cloudflare_rate_limit_is_retried(cloudflare):
    cloudflare.fail_next(429, retry_after="2")

    purge_cdn_keys.delay(["home", "sitemap"])

    assert [call.status for call in cloudflare.calls] == [429, 200]
    assert sorted(cloudflare.purged) == ["home", "sitemap"]


def test_a_wrong_zone_is_a_refusal_not_a_passing_failure(cloudflare, settings):
    settings.CDN_PURGE = CdnPurge("cloudflare", "0" * 32, CLOUDFLARE_TOKEN, soft=False)

    with pytest.raises(PurgeFailed, match="7003") as failure:
        cdn_purge_keys(keys=["home"])

    assert not failure.value.retry


# Backoff ------------------------------------------------------------------------------------------


def test_the_backoff_grows_is_capped_and_never_comes_sooner_than_retry_after():
    first = purge_retry_countdown(retries=0)
    assert 2.5 <= first <= 5
    assert purge_retry_countdown(retries=20) >= RETRY_BACKOFF_MAX_SECONDS / 2
    assert purge_retry_countdown(retries=20) <= RETRY_BACKOFF_MAX_SECONDS
    assert purge_retry_countdown(retries=0, retry_after=120) == 120


# After the commit, never failing the write ------------------------------------------------------


def test_the_purge_waits_for_the_commit(fastly, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        page_cache_invalidate_all(cdn_keys=lambda: ["home"])
        assert fastly.calls == []
    for callback in callbacks:
        callback()

    assert fastly.purged == ["home"]


def test_a_change_that_names_no_keys_purges_every_page(fastly, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        page_cache_invalidate_all()

    assert fastly.purged == ["pages"]


def test_a_broken_key_computation_is_logged_and_the_write_goes_on(
    fastly, caplog, django_capture_on_commit_callbacks
):
    def broken() -> list[str]:
        raise RuntimeError("no database")

    with (
        caplog.at_level(logging.ERROR, logger="publisher.cache.generations"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        page_cache_invalidate_all(cdn_keys=broken)

    assert "Could not request a CDN purge" in caplog.text
    assert fastly.calls == []


def test_nothing_is_purged_without_a_cdn(settings, django_capture_on_commit_callbacks):
    settings.CDN_PURGE = None
    asked = []

    with django_capture_on_commit_callbacks(execute=True):
        page_cache_invalidate_all(cdn_keys=lambda: asked.append(1) or ["home"])

    assert asked == []  # not even computed


# Configuration --------------------------------------------------------------------------------


def test_cdn_purge_url_names_the_provider_and_its_service_or_zone(monkeypatch):
    monkeypatch.setenv("CDN_PURGE_URL", f"fastly://{FASTLY_SERVICE_ID}?soft=true")
    monkeypatch.setenv("FASTLY_API_TOKEN", FASTLY_TOKEN)
    assert cdn_purge_from_url("CDN_PURGE_URL") == CdnPurge(
        "fastly", FASTLY_SERVICE_ID, FASTLY_TOKEN, soft=True
    )
    monkeypatch.setenv("CDN_PURGE_URL", f"cloudflare://{CLOUDFLARE_ZONE_ID}")
    monkeypatch.setenv("CLOUDFLARE_API_TOKEN", CLOUDFLARE_TOKEN)
    assert cdn_purge_from_url("CDN_PURGE_URL") == CdnPurge(
        "cloudflare", CLOUDFLARE_ZONE_ID, CLOUDFLARE_TOKEN, soft=False
    )
    monkeypatch.delenv("CDN_PURGE_URL")
    assert cdn_purge_from_url("CDN_PURGE_URL") is None


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("akamai://abc", "must start with fastly:// or cloudflare://"),
        ("fastly://", "names the service id after fastly://"),
        ("fastly://abc/purge", "names the service id"),
        ("cloudflare://zone.example", "names the zone id"),
        ("fastly://abc?hard=1", "unknown option 'hard'"),
        ("cloudflare://abc?soft=true", "unknown option 'soft' for cloudflare:// (it takes none)"),
        ("fastly://abc?soft=maybe", "soft='maybe' is not a boolean"),
    ],
)
def test_cdn_purge_url_refuses_nonsense(monkeypatch, value, message):
    monkeypatch.setenv("CDN_PURGE_URL", value)
    monkeypatch.setenv("FASTLY_API_TOKEN", FASTLY_TOKEN)
    monkeypatch.setenv("CLOUDFLARE_API_TOKEN", CLOUDFLARE_TOKEN)
    with pytest.raises(ImproperlyConfigured, match=re.escape(message)):
        cdn_purge_from_url("CDN_PURGE_URL")


def test_cdn_purge_url_needs_its_token(monkeypatch):
    monkeypatch.setenv("CDN_PURGE_URL", f"cloudflare://{CLOUDFLARE_ZONE_ID}")
    monkeypatch.delenv("CLOUDFLARE_API_TOKEN", raising=False)
    with pytest.raises(ImproperlyConfigured, match="set CLOUDFLARE_API_TOKEN too"):
        cdn_purge_from_url("CDN_PURGE_URL")


def test_the_fakes_refuse_what_the_real_apis_refuse():
    """The fakes' own limits, so a test passing against them means something."""
    with serving(FastlyFake(service_id=FASTLY_SERVICE_ID, token=FASTLY_TOKEN)) as fake:
        url = f"{fake.url}/service/{FASTLY_SERVICE_ID}/purge"
        too_many = " ".join(f"k{n}" for n in range(257))
        answer = requests.post(
            url, headers={"Fastly-Key": FASTLY_TOKEN, "Surrogate-Key": too_many}, timeout=5
        )
        assert answer.status_code == 400
        assert requests.post(url, headers={"Surrogate-Key": "home"}, timeout=5).status_code == 401
    with serving(CloudflareFake(zone_id=CLOUDFLARE_ZONE_ID, token=CLOUDFLARE_TOKEN)) as fake:
        url = f"{fake.url}/zones/{CLOUDFLARE_ZONE_ID}/purge_cache"
        bearer = {"Authorization": f"Bearer {CLOUDFLARE_TOKEN}"}
        answer = requests.post(
            url, json={"tags": [f"k{n}" for n in range(31)]}, headers=bearer, timeout=5
        )
        assert answer.status_code == 400 and answer.json()["success"] is False
        answer = requests.post(url, data=b'{"tags": ["home"]}', headers=bearer, timeout=5)
        assert answer.json()["errors"][0]["code"] == 6003  # not JSON by its Content-Type


def test_purge_pages_purges_every_page_and_waits_for_the_cdn(fastly):
    out = io.StringIO()

    call_command("purge_pages", stdout=out)

    assert fastly.purged == ["pages"]
    assert "Purged 1 key(s) at the CDN in 1 call(s)." in out.getvalue()


def test_purge_pages_with_keys_purges_only_those_and_says_when_the_cdn_refused(fastly, settings):
    call_command("purge_pages", "report-7", "topic-3", stdout=io.StringIO())
    assert sorted(fastly.purged) == ["report-7", "topic-3"]

    settings.CDN_PURGE = CdnPurge("fastly", FASTLY_SERVICE_ID, "revoked", soft=False)
    with pytest.raises(CommandError, match="answered 401"):
        call_command("purge_pages", "home")
    with pytest.raises(CommandError, match="Not a surrogate key"):
        call_command("purge_pages", "Home Page")


def test_a_page_naming_too_many_keys_is_shared_briefly_under_the_every_page_key(fastly, rf):
    @public_page
    def crowded(request):
        surrogate_keys_add(request, [f"report-{n}" for n in range(MAX_KEYS_PER_PAGE + 1)])
        return HttpResponse("crowded")

    response = CacheControlMiddleware(crowded)(rf.get("/crowded/"))

    assert response["Cache-Control"] == "public, max-age=60"
    assert response["Surrogate-Key"] == "pages"
    assert response["Cache-Tag"] == "pages"


def test_a_key_a_cdn_could_misread_is_refused(rf):
    for key in ["two words", "a,b", "Upper", ""]:
        with pytest.raises(ValueError, match="Not a surrogate key"):
            surrogate_keys_add(rf.get("/"), [key])


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"PUBLIC_PAGE_SHARED_MAX_AGE": "3600"}, "PUBLIC_PAGE_SHARED_MAX_AGE needs CDN_PURGE_URL"),
        (
            {
                "CDN_PURGE_URL": "fastly://abc",
                "FASTLY_API_TOKEN": "t",
                "PUBLIC_PAGE_SHARED_MAX_AGE": "86400",
            },
            "must be at most 21600",
        ),
        (
            {
                "CDN_PURGE_URL": "fastly://abc",
                "FASTLY_API_TOKEN": "t",
                "PUBLIC_PAGE_SHARED_MAX_AGE": "30",
            },
            "must be at least PUBLIC_PAGE_MAX_AGE (60), or 0",
        ),
    ],
)
def test_the_shared_lifetime_refuses_nonsense_at_start_up(env, message):
    result = _run_django({**PRODUCTION_ENV, **env}, "check")

    assert result.returncode != 0
    assert message in result.stderr


def test_deploy_check_is_clean_with_a_cdn():
    env = {
        **PRODUCTION_ENV,
        "CDN_PURGE_URL": f"cloudflare://{CLOUDFLARE_ZONE_ID}",
        "CLOUDFLARE_API_TOKEN": "t",
    }

    result = _run_django(env, "check", "--deploy", "--fail-level", "WARNING")

    assert result.returncode == 0, result.stderr
