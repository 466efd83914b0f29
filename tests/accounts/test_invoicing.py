"""Team licences paid by invoice: the order form, the Stripe objects it makes, and access
that follows the licence's invoice (finalised, due, overdue within the grace days, written
off, the subscription canceled), through the fake Stripe and signed webhooks."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.billing.webhooks import stripe_event_handle
from accounts.membership import membership_grants_access
from accounts.models import (
    Organisation,
    OrganisationMember,
    StripeEvent,
    SubscriptionChange,
    User,
)
from accounts.organisations.invoicing import tax_id_parse
from accounts.organisations.services import organisation_join
from publisher.errors import ApplicationError
from reports.access import can_read_body
from reports.models import Report
from tests.support.factories import ReportFactory, UserFactory

pytestmark = pytest.mark.django_db

ORDER = {
    "name": "Acme Integrators",
    "seats": "4",
    "billing_email": "accounts-payable@acme.example",
    "legal_name": "Acme Integrators GmbH",
    "line1": "Hauptstraße 1",
    "city": "Berlin",
    "postal_code": "10115",
    "country": "DE",
    "tax_id_type": "eu_vat",
    "tax_id": "DE 123 456 789",
    "purchase_order": "PO-2026-0042",
    "net_terms": "30",
}
PAID = Report(is_free=False)


def _order(client, **changes):
    return client.post("/subscribe/team/invoice/", {**ORDER, **changes})


def _deliver(stripe_fake, post_webhook, events=None):
    """Post the events the fake's API calls caused (or `events`), as Stripe sends them."""
    events = list(stripe_fake.emitted if events is None else events)
    stripe_fake.emitted.clear()
    outcomes = []
    for event in events:
        response = post_webhook(event)
        assert response.status_code == 200, response.content
        outcomes.append(response.content.decode())
    return outcomes


@pytest.fixture
def buyer(client):
    user = UserFactory(email="buyer@acme.example")
    client.force_login(user)
    return user


def _licence(buyer):
    return Organisation.objects.get(owner=buyer)


def _day(moment) -> str:
    """A date as the pages show it: in the site's time zone."""
    return timezone.localtime(moment).strftime("%b %-d, %Y")


def _reads(user) -> bool:
    """Whether `user`, as a request would load them now, may read paid reports."""
    return can_read_body(User.objects.get(pk=user.pk), PAID)


def _ordered(client, buyer, stripe_fake, post_webhook) -> Organisation:
    """The buyer's licence, ordered on invoice and told by its webhooks."""
    _order(client)
    _deliver(stripe_fake, post_webhook)
    return _licence(buyer)


def _colleague(organisation):
    colleague = UserFactory(email="colleague@acme.example")
    organisation_join(organisation=organisation, user=colleague)
    return colleague


# The order form --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"billing_email": "not an address"}, "Enter a valid email address."),
        ({"legal_name": "\u200b"}, "Use visible letters"),
        ({"line1": ""}, "This field is required."),
        ({"city": "\u200b\x07"}, "This field is required."),
        ({"country": "XX"}, "Select a valid choice."),
        ({"tax_id": "DE12345"}, "is not shaped like a EU VAT number (for example DE123456789)"),
        ({"tax_id": "QQ123456789"}, "is not shaped like a EU VAT number"),
        ({"tax_id_type": "gb_vat", "tax_id": "GB12"}, "is not shaped like a UK VAT number"),
        ({"tax_id_type": "us_ein", "tax_id": "12-345"}, "is not shaped like a US EIN"),
        ({"tax_id_type": "xx_tin"}, "Select a valid choice."),
        ({"tax_id": ""}, "Enter the EU VAT number, or choose no tax ID."),
        ({"tax_id_type": "", "tax_id": "DE123456789"}, "Choose what kind of tax ID this is."),
        ({"purchase_order": "P" * 141}, "at most 140 characters"),
        ({"net_terms": "45"}, "Select a valid choice."),
        ({"seats": "2"}, "A team licence has at least 3 seats."),
        ({"seats": "many"}, "Enter a number of seats"),
        ({"name": ""}, "This field is required."),
    ],
)
def test_bad_orders_say_why_and_create_nothing(client, buyer, stripe_fake, changes, message):
    response = _order(client, **changes)

    assert response.status_code == 400
    assert message in response.content.decode()
    assert stripe_fake.calls == []
    assert not Organisation.objects.exists()


def test_the_form_offers_the_configured_terms_with_the_default_chosen(client, buyer, settings):
    settings.INVOICE_NET_TERMS = [14, 30, 60]
    settings.INVOICE_NET_TERMS_DEFAULT = 30

    html = client.get("/subscribe/team/invoice/?name=Acme&seats=5").content.decode()

    assert '<option value="30" selected>Net 30: due 30 days after the invoice date</option>' in html
    assert '<option value="60">Net 60' in html
    assert 'value="Acme"' in html and 'value="5"' in html
    assert 'value="buyer@acme.example"' in html


def test_the_order_is_csrf_protected(buyer, stripe_fake):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    strict.force_login(buyer)

    assert strict.post("/subscribe/team/invoice/", ORDER).status_code == 403
    assert stripe_fake.calls == []


def test_orders_are_rate_limited(client, buyer, stripe_fake):
    stripe_fake.fail_requests = 1000  # every order reaches Stripe and fails: nothing is made
    for _ in range(10):
        assert _order(client).status_code == 503

    refused = _order(client)

    assert refused.status_code == 429
    assert "several invoices in the last hour" in refused.content.decode()


def test_a_stripe_outage_orders_nothing_and_says_so(client, buyer, stripe_fake):
    stripe_fake.fail_requests = 1000

    response = _order(client)

    assert response.status_code == 503
    assert "nothing was ordered" in response.content.decode()
    assert stripe_fake.subscriptions == {}


def test_a_tax_id_stripe_refuses_is_explained_and_orders_nothing(
    client, buyer, stripe_fake, monkeypatch
):
    from tests.support import stripe_fake as fake_module

    # Stripe's list of types moves on; say it no longer knew Norwegian VAT numbers.
    monkeypatch.setattr(fake_module, "TAX_ID_TYPES", fake_module.TAX_ID_TYPES - {"no_vat"})

    response = _order(client, country="NO", tax_id_type="no_vat", tax_id="123456789MVA")

    assert response.status_code == 409
    assert "Stripe did not accept the tax ID: Invalid value for type: no_vat" in (
        response.content.decode()
    )
    assert stripe_fake.customers == {} and stripe_fake.subscriptions == {}
    assert not Organisation.objects.exists()


def test_a_stripe_outage_leaves_no_organisation_behind(client, buyer, stripe_fake):
    stripe_fake.fail_requests = 1000

    assert _order(client).status_code == 503
    assert not Organisation.objects.exists()


@pytest.mark.parametrize(
    ("kind", "typed", "stored"),
    [
        ("eu_vat", "de 123.456.789", "DE123456789"),
        ("eu_vat", "EL123456789", "EL123456789"),
        ("eu_vat", "NL123456789B01", "NL123456789B01"),
        ("eu_vat", "FRAB123456789", "FRAB123456789"),
        ("gb_vat", "GB 123 4567 89", "GB123456789"),
        ("us_ein", "123456789", "12-3456789"),
        ("ch_vat", "CHE123456789MWST", "CHE-123.456.789 MWST"),
        ("no_vat", "123456789mva", "123456789MVA"),
    ],
)
def test_tax_ids_are_stored_as_stripe_writes_them(kind, typed, stored):
    assert tax_id_parse(kind=kind, value=typed) == (kind, stored)


def test_no_tax_id_is_fine_and_a_half_given_one_is_not():
    assert tax_id_parse(kind="", value="  ") is None
    with pytest.raises(ApplicationError, match="Choose what kind"):
        tax_id_parse(kind="", value="DE123456789")


# Ordering through Stripe -----------------------------------------------------------------


def test_the_order_makes_an_invoiced_subscription_with_po_and_tax_id(
    client, buyer, stripe_fake, settings
):
    response = _order(client)

    assert response.status_code == 302 and response["Location"] == "/team/"
    (customer,) = stripe_fake.customers.values()
    assert customer["email"] == "accounts-payable@acme.example"
    assert customer["name"] == "Acme Integrators GmbH"
    assert customer["address"] == {
        "line1": "Hauptstraße 1", "city": "Berlin", "postal_code": "10115", "country": "DE"
    }  # fmt: skip
    ((tax_id_type, tax_id_value),) = [
        (t["type"], t["value"]) for t in stripe_fake.tax_ids[customer["id"]]
    ]
    assert (tax_id_type, tax_id_value) == ("eu_vat", "DE123456789")
    (subscription,) = stripe_fake.subscriptions.values()
    assert subscription["collection_method"] == "send_invoice"
    assert subscription["days_until_due"] == 30
    assert subscription["items"]["data"][0]["quantity"] == 4
    assert subscription["items"]["data"][0]["price"]["id"] == settings.STRIPE_PRICE_SEAT
    purchase_order = [{"name": "Purchase order", "value": "PO-2026-0042"}]
    assert subscription["invoice_settings"]["custom_fields"] == purchase_order
    invoice = stripe_fake.invoices[subscription["latest_invoice"]]
    assert invoice["status"] == "open"
    assert invoice["custom_fields"] == purchase_order
    assert invoice["customer_tax_ids"] == [{"type": "eu_vat", "value": "DE123456789"}]
    assert invoice["due_date"] == invoice["status_transitions"]["finalized_at"] + 30 * 86400
    assert invoice["amount_due"] == 4 * 24000


def test_invoiced_licence_from_order_to_write_off(
    client, client_for, buyer, stripe_fake, post_webhook, time_machine, settings
):
    """The whole path: ordered, the invoice finalised and sent, a colleague reads; the due
    date passes and the grace days still read; written off, the colleague sees the teaser."""
    report = ReportFactory(is_free=False, body="The invoice-only canary finding.")
    done = client.post("/subscribe/team/invoice/", ORDER, follow=True)
    outcomes = _deliver(stripe_fake, post_webhook)

    organisation = _licence(buyer)
    assert outcomes == ["processed", "ignored", "processed", "ignored"]  # created, finalized…
    assert (organisation.status, organisation.invoice_status, organisation.seats) == (
        "active", "open", 4
    )  # fmt: skip
    assert "is on its way to accounts-payable@acme.example" in done.content.decode()
    colleague = _colleague(organisation)
    assert (
        "invoice-only canary"
        in client_for(colleague).get(report.get_absolute_url()).content.decode()
    )

    due = organisation.invoice_due_at
    time_machine.move_to(due + timedelta(days=settings.PAST_DUE_GRACE_DAYS - 1))
    _deliver(stripe_fake, post_webhook, stripe_fake.invoice_overdue(organisation.invoice_id))
    organisation.refresh_from_db()
    assert organisation.status == "past_due"
    # Logged in again: the sessions of a month ago have expired.
    reader = client_for(colleague)
    assert "invoice-only canary" in reader.get(report.get_absolute_url()).content.decode()
    team = client_for(buyer).get("/team/").content.decode()
    ends = _day(due + timedelta(days=settings.PAST_DUE_GRACE_DAYS))
    assert f"Overdue: access ends on {ends}." in team

    stripe_fake.mark_uncollectible(organisation.invoice_id)
    _deliver(stripe_fake, post_webhook)

    page = reader.get(report.get_absolute_url()).content.decode()
    assert "invoice-only canary" not in page
    assert "A public teaser that everyone may read." in page
    assert not _reads(colleague)
    assert "Unpaid and written off" in client_for(buyer).get("/team/").content.decode()


def test_access_ends_after_the_grace_days_without_a_webhook(
    client, buyer, stripe_fake, post_webhook, time_machine, settings
):
    organisation = _ordered(client, buyer, stripe_fake, post_webhook)
    grace_end = organisation.invoice_due_at + timedelta(days=settings.PAST_DUE_GRACE_DAYS)

    time_machine.move_to(grace_end - timedelta(minutes=1))
    assert _reads(buyer)
    time_machine.move_to(grace_end + timedelta(minutes=1))
    assert not _reads(buyer)


def test_the_finalized_event_opens_a_licence_whose_invoice_was_a_draft(
    stripe_fake, post_webhook, settings
):
    """Stripe can hold an invoice in draft (a renewal's hour, or automatic finalisation
    paused): the licence opens when the invoice is finalised, not when it is drafted."""
    owner = UserFactory()
    organisation = Organisation.objects.create(name="Acme", owner=owner)
    OrganisationMember.objects.create(organisation=organisation, user=owner, is_admin=True)
    customer = stripe_fake.create_customer({"email": "ap@acme.example"})
    subscription = stripe_fake.create_subscription(
        customer=customer["id"], price=settings.STRIPE_PRICE_SEAT, quantity=3, card=False,
        metadata={"organisation_id": str(organisation.pk)},
        collection_method="send_invoice", days_until_due=14,
    )  # fmt: skip
    draft = stripe_fake._draft_invoice(subscription, billing_reason="subscription_create")
    _deliver(stripe_fake, post_webhook, [
        stripe_fake.event("customer.subscription.created", subscription), *stripe_fake.emitted
    ])  # fmt: skip
    organisation.refresh_from_db()
    assert organisation.status == "active" and organisation.invoice_status == ""
    assert not _reads(owner)

    stripe_fake.finalize_invoice(draft["id"])
    _deliver(stripe_fake, post_webhook)

    organisation.refresh_from_db()
    assert (organisation.invoice_status, organisation.invoice_id) == ("open", draft["id"])
    assert organisation.invoice_due_at == timezone.datetime.fromtimestamp(
        stripe_fake.invoices[draft["id"]]["due_date"], tz=timezone.UTC
    )
    assert _reads(owner)


def test_payment_keeps_the_licence_and_a_renewal_draft_changes_nothing(
    client, buyer, stripe_fake, post_webhook, time_machine, settings
):
    organisation = _ordered(client, buyer, stripe_fake, post_webhook)
    stripe_fake.pay_invoice(organisation.invoice_id, {"paid_out_of_band": "true"})
    _deliver(stripe_fake, post_webhook)
    organisation.refresh_from_db()
    assert organisation.invoice_status == "paid"
    team = client.get("/team/").content.decode()
    assert "<strong>Paid.</strong>" in team
    assert "View and pay the invoice" not in team

    # A year on, the renewal's invoice is drafted: the paid one still decides for its hour.
    time_machine.move_to(organisation.current_period_end + timedelta(minutes=1))
    draft = stripe_fake.renew_by_invoice(organisation.stripe_subscription_id)
    _deliver(stripe_fake, post_webhook)
    organisation.refresh_from_db()
    assert organisation.invoice_status == "paid" and _reads(buyer)

    stripe_fake.finalize_invoice(draft["id"])
    _deliver(stripe_fake, post_webhook)
    organisation.refresh_from_db()
    assert (organisation.invoice_id, organisation.invoice_status) == (draft["id"], "open")
    assert _reads(buyer)
    time_machine.move_to(
        organisation.invoice_due_at + timedelta(days=settings.PAST_DUE_GRACE_DAYS, minutes=1)
    )
    assert not _reads(buyer)


def test_the_team_page_shows_the_open_invoice(client, buyer, stripe_fake, post_webhook):
    organisation = _ordered(client, buyer, stripe_fake, post_webhook)

    team = client.get("/team/").content.decode()

    due = _day(organisation.invoice_due_at)
    assert f"<strong>Open:</strong> $960.00 due on {due}." in team
    assert f'href="{organisation.invoice_hosted_url}"' in team
    assert organisation.invoice_hosted_url.startswith(stripe_fake.base_url + "/invoice/")
    assert f"Invoice {organisation.invoice_number}" in team


def test_a_canceled_subscription_ends_the_licence(client, buyer, stripe_fake, post_webhook):
    organisation = _ordered(client, buyer, stripe_fake, post_webhook)
    colleague = _colleague(organisation)
    stripe_fake.pay_invoice(organisation.invoice_id, {"paid_out_of_band": "true"})
    _deliver(stripe_fake, post_webhook)
    assert _reads(colleague)

    stripe_fake.update_subscription(organisation.stripe_subscription_id, status="canceled")
    subscription = stripe_fake.subscriptions[organisation.stripe_subscription_id]
    _deliver(stripe_fake, post_webhook, [stripe_fake.event("customer.subscription.deleted",
                                                            subscription)])  # fmt: skip

    colleague.refresh_from_db()
    assert not _reads(colleague)
    assert "Renew by invoice" in client.get("/team/").content.decode()


def test_duplicate_and_out_of_order_events_change_nothing_twice(
    client, buyer, stripe_fake, post_webhook
):
    _order(client)
    ordered = list(stripe_fake.emitted)
    organisation = _licence(buyer)
    stripe_fake.emitted.clear()
    stripe_fake.mark_uncollectible(organisation.invoice_id)
    written_off = list(stripe_fake.emitted)
    stripe_fake.emitted.clear()

    # The write-off arrives first, then the order's events, then all of them again.
    first = _deliver(stripe_fake, post_webhook, [*reversed(written_off), *reversed(ordered)])
    changes = SubscriptionChange.objects.count()
    state = Organisation.objects.values("status", "invoice_status", "stripe_state_at").get()
    again = _deliver(stripe_fake, post_webhook, [*ordered, *written_off])

    assert "duplicate" not in first
    assert again == ["duplicate"] * len(again)
    assert Organisation.objects.values("status", "invoice_status", "stripe_state_at").get() == (
        state
    )
    assert state["invoice_status"] == "uncollectible"
    assert SubscriptionChange.objects.count() == changes
    assert StripeEvent.objects.count() == len(ordered) + len(written_off)
    assert not _reads(buyer)


def test_a_late_finalized_event_does_not_reopen_a_written_off_licence(
    client, buyer, stripe_fake, post_webhook
):
    _order(client)
    finalized = [e for e in stripe_fake.emitted if e["type"] == "invoice.finalized"]
    _deliver(stripe_fake, post_webhook)
    organisation = _licence(buyer)
    stripe_fake.mark_uncollectible(organisation.invoice_id)
    _deliver(stripe_fake, post_webhook)

    late = stripe_fake.event("invoice.finalized", finalized[0]["data"]["object"])
    _deliver(stripe_fake, post_webhook, [late])

    organisation.refresh_from_db()
    assert organisation.invoice_status == "uncollectible"
    assert not membership_grants_access(organisation)


def test_renewing_a_lapsed_licence_reuses_the_customer_and_its_tax_id(
    client, buyer, stripe_fake, post_webhook
):
    organisation = _ordered(client, buyer, stripe_fake, post_webhook)
    stripe_fake.mark_uncollectible(organisation.invoice_id)
    _deliver(stripe_fake, post_webhook)

    again = _order(client, purchase_order="PO-2026-0077", net_terms="60", line1="Neue Straße 2")
    _deliver(stripe_fake, post_webhook)

    assert again.status_code == 302
    (customer,) = stripe_fake.customers.values()
    assert customer["address"]["line1"] == "Neue Straße 2"
    assert len(stripe_fake.tax_ids[customer["id"]]) == 1
    organisation.refresh_from_db()
    subscription = stripe_fake.subscriptions[organisation.stripe_subscription_id]
    assert subscription["days_until_due"] == 60
    assert stripe_fake.invoices[organisation.invoice_id]["custom_fields"] == [
        {"name": "Purchase order", "value": "PO-2026-0077"}
    ]
    assert organisation.invoice_status == "open" and _reads(buyer)


def test_a_running_licence_is_not_ordered_twice(client, buyer, stripe_fake, post_webhook):
    _order(client)
    _deliver(stripe_fake, post_webhook)

    twice = _order(client)

    assert twice.status_code == 409
    assert "already has a licence running" in twice.content.decode() or "already hold a seat" in (
        twice.content.decode()
    )
    assert len(stripe_fake.subscriptions) == 1


# Without Stripe keys: the local test checkout ---------------------------------------------


@pytest.fixture
def local_mode(settings):
    settings.DEBUG = True
    settings.STRIPE_SECRET_KEY = ""


def test_the_local_checkout_records_a_test_invoice_and_marks_it(local_mode, client, buyer):
    page = client.get("/subscribe/team/invoice/").content.decode()
    assert "Local test checkout — no payment is taken." in page

    done = client.post("/subscribe/team/invoice/", ORDER, follow=True).content.decode()
    organisation = _licence(buyer)
    assert (organisation.invoice_status, organisation.seats) == ("open", 4)
    assert "<strong>Open:</strong> $1,160.00 due on" in done  # 4 seats at PRICE_SEAT_CENTS
    assert "Record payment (test)" in done
    assert "is recorded (a test: no email), due on" in done
    assert _reads(buyer)

    paid = client.post("/team/", {"action": "invoice_paid"}, follow=True).content.decode()
    assert "<strong>Paid.</strong>" in paid

    organisation.refresh_from_db()
    organisation.invoice_status = "open"
    organisation.save()
    client.post("/team/", {"action": "invoice_uncollectible"})
    organisation.refresh_from_db()
    assert organisation.invoice_status == "uncollectible"
    assert not _reads(buyer)


def test_the_local_invoice_actions_are_off_with_stripe(client, buyer, stripe_fake, post_webhook):
    _order(client)
    _deliver(stripe_fake, post_webhook)

    response = client.post("/team/", {"action": "invoice_paid"}, follow=True)

    assert "Unknown action." in response.content.decode()
    assert _licence(buyer).invoice_status == "open"


# The rule ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "invoice_status", "due_in_days", "grants"),
    [
        ("active", "", None, False),  # nothing finalised yet
        ("active", "open", 10, True),
        ("past_due", "open", -3, True),  # overdue, within the grace days
        ("past_due", "open", -8, False),  # beyond them
        ("active", "paid", None, True),
        ("past_due", "uncollectible", 10, False),
        ("active", "void", None, False),
        ("canceled", "paid", None, False),
        ("unpaid", "open", 10, False),
    ],
)
def test_an_invoiced_licence_follows_its_invoice(status, invoice_status, due_in_days, grants):
    now = timezone.now()
    organisation = Organisation(
        name="Acme", status=status, collection_method="send_invoice",
        invoice_status=invoice_status, current_period_end=now + timedelta(days=300),
        invoice_due_at=now + timedelta(days=due_in_days) if due_in_days is not None else None,
    )  # fmt: skip

    assert membership_grants_access(organisation, now=now) is grants


def test_a_card_paid_licence_ignores_invoice_fields():
    organisation = Organisation(
        name="Acme", status="active", collection_method="charge_automatically",
        invoice_status="uncollectible",
    )  # fmt: skip

    assert membership_grants_access(organisation)


def test_the_local_handler_ignores_invoice_events_without_stripe(local_mode):
    event = {"id": "evt_local_x", "type": "invoice.finalized", "created": 1893456000,
             "data": {"object": {"id": "in_1", "customer": "cus_1"}}}  # fmt: skip

    assert stripe_event_handle(event=event) == "ignored"


@pytest.mark.django_db(transaction=True)
def test_two_orders_at_once_make_one_subscription(stripe_fake):
    """A double click: both orders reach the service together; the organisation's row lock
    lets one through, and the other finds its licence running."""
    import threading

    from django.db import connection

    from accounts.organisations.forms import InvoiceOrderForm
    from accounts.organisations.invoicing import organisation_invoice_subscription_create
    from accounts.organisations.services import organisation_start

    buyer = UserFactory(email="buyer@acme.example")
    organisation = organisation_start(owner=buyer, name="Acme Integrators")
    form = InvoiceOrderForm(ORDER)
    assert form.is_valid(), form.errors
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def order():
        barrier.wait()
        try:
            organisation_invoice_subscription_create(
                organisation=organisation, buyer=buyer, seats=4, details=form.details()
            )
            outcomes.append("ordered")
        except ApplicationError as error:
            outcomes.append(error.message)
        finally:
            connection.close()

    threads = [threading.Thread(target=order) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == sorted(
        ["ordered", "Acme Integrators already has a licence running; change its seats on the "
         "team page."]
    )  # fmt: skip
    assert len(stripe_fake.subscriptions) == 1
    assert len(stripe_fake.customers) == 1


def test_paying_a_later_invoice_does_not_excuse_an_earlier_unpaid_one(
    client, buyer, stripe_fake, post_webhook, time_machine, settings
):
    """Added seats are invoiced on their own (`always_invoice`): with the licence's invoice
    still open, paying the small one leaves the first one deciding."""
    organisation = _ordered(client, buyer, stripe_fake, post_webhook)
    first = organisation.invoice_id
    subscription = stripe_fake.subscriptions[organisation.stripe_subscription_id]
    added_seats = stripe_fake._draft_invoice(subscription, billing_reason="subscription_update")
    stripe_fake.finalize_invoice(added_seats["id"])
    stripe_fake.pay_invoice(added_seats["id"], {"paid_out_of_band": "true"})
    _deliver(stripe_fake, post_webhook)

    organisation.refresh_from_db()
    assert (organisation.invoice_id, organisation.invoice_status) == (first, "open")
    time_machine.move_to(
        organisation.invoice_due_at + timedelta(days=settings.PAST_DUE_GRACE_DAYS, minutes=1)
    )
    assert not _reads(buyer)

    stripe_fake.pay_invoice(first, {"paid_out_of_band": "true"})
    _deliver(stripe_fake, post_webhook)
    organisation.refresh_from_db()
    assert organisation.invoice_status == "paid" and _reads(buyer)


def test_the_reconciliation_finds_the_invoice_a_missed_webhook_told(
    client, buyer, stripe_fake, post_webhook
):
    from accounts.billing.reconcile import memberships_reconcile

    organisation = _ordered(client, buyer, stripe_fake, post_webhook)
    stripe_fake.mark_uncollectible(organisation.invoice_id)
    stripe_fake.emitted.clear()  # the webhook never arrives

    memberships_reconcile()

    organisation.refresh_from_db()
    assert organisation.invoice_status == "uncollectible"
    assert not _reads(buyer)
