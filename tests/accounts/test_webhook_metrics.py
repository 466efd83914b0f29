"""Refused webhook calls are counted for Prometheus, by provider and reason."""

import json

from tests.support.metrics import sample, scrape
from tests.support.stripe_fake import sign

FAILURES = "gridline_webhook_failures_total"


def test_a_stripe_webhook_with_a_bad_signature_is_counted(client, metrics_token, db):
    before = scrape(client)
    payload = json.dumps({"id": "evt_1", "type": "invoice.paid", "data": {"object": {}}})

    response = client.post(
        "/stripe/webhook/",
        payload,
        content_type="application/json",
        headers={"Stripe-Signature": sign(payload, "whsec_not_ours")},
    )

    assert response.status_code == 400
    after = scrape(client)
    labels = {"provider": "stripe", "reason": "signature"}
    assert sample(after, FAILURES, **labels) - sample(before, FAILURES, **labels) == 1


def test_a_provider_tracking_webhook_without_its_credentials_is_counted(client, metrics_token, db):
    before = scrape(client)

    response = client.post("/anymail/postmark/tracking/", b"{}", content_type="application/json")

    assert response.status_code == 400
    after = scrape(client)
    labels = {"provider": "postmark", "reason": "signature"}
    assert sample(after, FAILURES, **labels) - sample(before, FAILURES, **labels) == 1


def test_an_authenticated_but_unreadable_tracking_payload_is_counted(client, metrics_token, db):
    from tests.support import provider_events as pe

    before = scrape(client)

    response = client.post(
        "/anymail/postmark/tracking/",
        b"{not json",
        content_type="application/json",
        headers=pe.basic_auth(),
    )

    assert response.status_code == 400
    after = scrape(client)
    labels = {"provider": "postmark", "reason": "payload"}
    assert sample(after, FAILURES, **labels) - sample(before, FAILURES, **labels) == 1
