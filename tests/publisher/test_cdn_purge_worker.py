"""The CDN purge as production runs it: an editor's save commits, a real Celery worker on
Redis takes the purge task, meets a Fastly outage, and retries it after its backoff with
the same keys until the fake Fastly purges them."""

import pytest

from publisher.env import CdnPurge
from reports.publishing import report_save
from tests.support.cdn_fakes import FASTLY_SERVICE_ID, FASTLY_TOKEN, FastlyFake, serving
from tests.support.factories import ReportFactory, TopicFactory
from tests.support.waiting import wait_until


@pytest.mark.integration
def test_a_real_worker_retries_the_purge_of_an_edit_until_fastly_takes_it(celery_rig, settings):
    with serving(FastlyFake(service_id=FASTLY_SERVICE_ID, token=FASTLY_TOKEN)) as fastly:
        # This process names the keys after the commit; the worker sends them.
        settings.CDN_PURGE = CdnPurge("fastly", FASTLY_SERVICE_ID, FASTLY_TOKEN, soft=False)
        celery_rig.env |= {
            "CDN_PURGE_URL": f"fastly://{FASTLY_SERVICE_ID}",
            "FASTLY_API_TOKEN": FASTLY_TOKEN,
            "FASTLY_API_BASE": fastly.url,
        }
        worker = celery_rig.start_worker(concurrency=1)
        topic = TopicFactory()
        report = ReportFactory(topics=[topic])
        # Creating its author purged every page (a new byline); that is not this test's.
        celery_rig.wait_until_idle()
        fastly.calls.clear()
        fastly.fail_next(503)

        report.title = "Corrected on a busy day"
        report_save(report=report)  # commits: the test database is transactional here

        wait_until(
            lambda: len(fastly.calls) >= 2,
            timeout=60,
            message=lambda: f"the retried purge to reach Fastly (calls: {fastly.calls})",
        )
        first, second = fastly.calls
        assert (first.status, second.status) == (503, 200)
        assert first.keys == second.keys
        assert set(second.keys) == {
            f"report-{report.pk}",
            "home",
            "feed",
            "sitemap",
            "search",
            f"kind-{report.kind}",
            f"topic-{topic.pk}",
            f"author-{report.author_id}",
        }
        assert worker.logged("CDN purge failed, retrying (attempt 1): fastly answered 503")
