"""Organisation licences: buying seats, seat limits under races, invitations, domains and
webhook-driven changes."""

import re
import threading
from datetime import timedelta
from urllib.parse import quote, urlencode

import pytest
from allauth.account.models import EmailAddress
from allauth.account.signals import email_confirmed
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.db import connection
from django.utils import timezone

from accounts.checks import team_prices_make_sense
from accounts.models import Organisation, OrganisationMember, OrganisationRemoval, User
from accounts.organisations.pricing import money_display
from accounts.organisations.services import (
    invitation_create,
    invitation_token,
    member_remove,
    organisation_autojoin,
    organisation_domains_update,
    organisation_join,
)
from publisher.errors import ApplicationError
from reports.access import can_read_body
from reports.models import Report
from tests.support.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def _licence(seats: int, *, status: str = "active", name: str = "Acme Integrators"):
    owner = UserFactory(email=f"owner-{seats}-{status}@acme.example")
    organisation = Organisation.objects.create(
        name=name, owner=owner, seats=seats, status=status,
        current_period_end=timezone.now() + timedelta(days=300),
    )  # fmt: skip
    OrganisationMember.objects.create(organisation=organisation, user=owner, is_admin=True)
    return organisation, owner


def test_seat_holder_reads_paid_reports_and_others_do_not():
    organisation, owner = _licence(3)
    colleague = UserFactory()
    paid = Report(is_free=False)

    assert can_read_body(owner, paid)
    assert not can_read_body(colleague, paid)
    organisation_join(organisation=organisation, user=colleague)
    colleague.refresh_from_db()
    assert can_read_body(colleague, paid)


@pytest.mark.parametrize(
    ("status", "grants"),
    [("active", True), ("trialing", True), ("unpaid", False), ("canceled", False)],
)
def test_organisation_status_uses_the_same_table(status, grants):
    _, owner = _licence(2, status=status)

    assert can_read_body(owner, Report(is_free=False)) is grants


def test_join_refuses_when_seats_are_taken():
    organisation, _ = _licence(2)
    organisation_join(organisation=organisation, user=UserFactory())

    with pytest.raises(ApplicationError, match="All 2 seats of Acme Integrators are taken"):
        organisation_join(organisation=organisation, user=UserFactory())


@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_joins_for_the_last_three_seats_end_with_exactly_three():
    organisation, _ = _licence(4)  # the owner holds one seat: three remain
    people = [UserFactory() for _ in range(20)]
    barrier = threading.Barrier(20)
    outcomes: list[str] = []

    def join(user):
        barrier.wait()
        try:
            organisation_join(organisation=organisation, user=user)
            outcomes.append("joined")
        except ApplicationError:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=join, args=(user,)) for user in people]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert outcomes.count("joined") == 3
    assert outcomes.count("refused") == 17
    assert organisation.members.count() == 4


def test_invitation_is_single_use_and_bound_to_the_address(
    client, mailoutbox, django_capture_on_commit_callbacks
):
    organisation, owner = _licence(3)
    with django_capture_on_commit_callbacks(execute=True):
        invitation = invitation_create(
            organisation=organisation, email="Colleague@Acme.example", invited_by=owner
        )
    link = re.search(r"http://testserver(/team/join/\S+/)", mailoutbox[0].body).group(1)
    assert "Acme Integrators" in mailoutbox[0].subject

    stranger = UserFactory(email="someone@else.example")
    client.force_login(stranger)
    refused = client.post(link)
    assert refused.status_code == 409
    assert "This invitation is for colleague@acme.example" in refused.content.decode()

    colleague = UserFactory(email="colleague@acme.example")
    client.force_login(colleague)
    assert client.post(link).status_code == 302
    assert OrganisationMember.objects.filter(user=colleague, organisation=organisation).exists()

    again = UserFactory(email="colleague2@acme.example")
    client.force_login(again)
    used = client.get(link)
    assert "already used" in used.content.decode()
    invitation.refresh_from_db()
    assert invitation.accepted_at is not None


def test_tampered_or_expired_invitations_are_refused(client, time_machine):
    organisation, owner = _licence(3)
    invitation = invitation_create(organisation=organisation, email="x@acme.example",
                                   invited_by=owner)  # fmt: skip
    client.force_login(UserFactory(email="x@acme.example"))
    token = invitation_token(invitation)

    assert "not valid" in client.get(f"/team/join/{token[:-2]}xx/").content.decode()
    time_machine.move_to(timezone.now() + timedelta(days=8))
    assert "expired" in client.get(f"/team/join/{token}/").content.decode()


def test_domain_autojoin_needs_a_verified_address_and_a_free_seat():
    organisation, _ = _licence(2)
    organisation.join_domains = "example-integrator.com"
    organisation.auto_join = True
    organisation.save()
    first = UserFactory(email="ana@example-integrator.com")
    unverified = UserFactory(email="ben@example-integrator.com")
    EmailAddress.objects.filter(user=unverified).update(verified=False)
    third = UserFactory(email="cy@example-integrator.com")

    assert organisation_autojoin(user=unverified) is None
    assert organisation_autojoin(user=first) == organisation
    with pytest.raises(ApplicationError, match=r"seats .* are taken"):
        organisation_autojoin(user=third)


def test_team_page_is_for_admins_only(client):
    organisation, owner = _licence(3)
    member = UserFactory()
    organisation_join(organisation=organisation, user=member)

    client.force_login(member)
    assert client.get("/team/")["Location"] == "/accounts/profile/"
    client.force_login(owner)
    page = client.get("/team/").content.decode()
    assert "Seats used: <strong>2 of 3</strong>" in page


def test_admin_removes_a_member_and_access_ends_at_once(client):
    organisation, owner = _licence(3)
    member = UserFactory()
    seat = organisation_join(organisation=organisation, user=member)
    client.force_login(owner)

    client.post("/team/", {"action": "remove", "id": str(seat.pk)})

    member.refresh_from_db()
    assert not can_read_body(member, Report(is_free=False))


def _domain_licence(seats: int = 5):
    organisation, owner = _licence(seats)
    organisation.join_domains = "example-integrator.com"
    organisation.auto_join = True
    organisation.save()
    return organisation, owner


def _log_in(client, user) -> None:
    """A real allauth login, so its user_logged_in signal (and joining by domain) runs."""
    client.logout()
    response = client.post("/accounts/login/", {"login": user.email, "password": PASSWORD})
    assert response.status_code == 302


def _remove(client, owner, user) -> None:
    client.force_login(owner)
    response = client.post("/team/", {"action": "remove", "id": str(user.seat.pk)}, follow=True)
    assert "their access has ended" in response.content.decode()


def test_removed_member_stays_out_when_logging_in_again(client):
    organisation, owner = _domain_licence()
    ana = UserFactory(email="ana@example-integrator.com")
    _log_in(client, ana)
    assert OrganisationMember.objects.filter(user=ana, organisation=organisation).exists()

    _remove(client, owner, ana)
    _log_in(client, ana)

    assert not OrganisationMember.objects.filter(user=ana).exists()
    assert not can_read_body(User.objects.get(pk=ana.pk), Report(is_free=False))
    ben = UserFactory(email="ben@example-integrator.com")
    _log_in(client, ben)
    assert OrganisationMember.objects.filter(user=ben, organisation=organisation).exists()


def test_removed_member_stays_out_after_verifying_another_address_at_the_domain(client):
    organisation, owner = _domain_licence()
    ana = UserFactory(email="ana@example-integrator.com")
    organisation_join(organisation=organisation, user=ana)
    _remove(client, owner, ana)

    address = EmailAddress.objects.create(
        user=ana, email="ana.b@example-integrator.com", verified=True, primary=False
    )
    # Loaded afresh, as the confirmation view loads it: no seat cached on the user.
    address = EmailAddress.objects.get(pk=address.pk)
    email_confirmed.send(sender=EmailAddress, request=None, email_address=address)

    assert not OrganisationMember.objects.filter(user=ana).exists()


def test_a_new_account_at_a_removed_address_stays_out_too(client):
    organisation, owner = _domain_licence()
    ana = UserFactory(email="ana@example-integrator.com")
    organisation_join(organisation=organisation, user=ana)
    _remove(client, owner, ana)
    ana.delete()

    again = UserFactory(email="ana@example-integrator.com")

    assert organisation_autojoin(user=again) is None
    assert not OrganisationMember.objects.filter(user=again).exists()


def test_an_invitation_after_removal_restores_the_seat_and_domain_joining(
    client, mailoutbox, django_capture_on_commit_callbacks
):
    organisation, owner = _domain_licence()
    ana = UserFactory(email="ana@example-integrator.com")
    organisation_join(organisation=organisation, user=ana)
    _remove(client, owner, ana)
    page = client.get("/team/").content.decode()
    assert "ana@example-integrator.com, removed" in page
    assert "Invite again" in page

    with django_capture_on_commit_callbacks(execute=True):
        client.post("/team/", {"action": "invite", "email": "ana@example-integrator.com"})
    link = re.search(r"http://testserver(/team/join/\S+/)", mailoutbox[-1].body).group(1)
    client.force_login(ana)
    assert client.post(link).status_code == 302

    assert OrganisationMember.objects.filter(user=ana, organisation=organisation).exists()
    assert not OrganisationRemoval.objects.exists()
    # The removal is lifted, not only bypassed: once off the team for another reason (a seat
    # trim), joining by domain admits them again.
    OrganisationMember.objects.filter(user=ana).delete()
    assert organisation_autojoin(user=User.objects.get(pk=ana.pk)) == organisation


def test_removal_from_one_organisation_leaves_another_that_admits_the_domain():
    first, first_owner = _domain_licence()
    second, _ = _licence(3, name="Acme Labs")
    second.join_domains = "example-integrator.com"
    second.auto_join = True
    second.save()
    ana = UserFactory(email="ana@example-integrator.com")
    seat = organisation_join(organisation=first, user=ana)
    member_remove(organisation=first, admin=first_owner, member_id=seat.pk)

    assert organisation_autojoin(user=User.objects.get(pk=ana.pk)) == second


def test_seat_reduction_is_not_a_removal_and_domain_joining_readmits(
    stripe_fake, settings, post_webhook
):
    organisation, _ = _domain_licence(seats=2)
    ana = UserFactory(email="ana@example-integrator.com")
    organisation_join(organisation=organisation, user=ana)
    subscription = _org_subscription(stripe_fake, settings, organisation, seats=1)
    post_webhook(stripe_fake.event("customer.subscription.updated", subscription))
    assert not OrganisationMember.objects.filter(user=ana).exists()
    assert not OrganisationRemoval.objects.exists()

    subscription["items"]["data"][0]["quantity"] = 2
    post_webhook(stripe_fake.event("customer.subscription.updated", subscription))

    assert organisation_autojoin(user=User.objects.get(pk=ana.pk)) == organisation


def test_team_page_rejects_bad_input_with_messages(client):
    _, owner = _licence(3)
    client.force_login(owner)

    bad_email = client.post("/team/", {"action": "invite", "email": "not an email"}, follow=True)
    bad_domain = client.post("/team/", {"action": "domains", "domains": "no dots"}, follow=True)
    bad_action = client.post("/team/", {"action": "explode"}, follow=True)

    assert "Enter a valid email address." in bad_email.content.decode()
    assert "is not an email domain" in bad_domain.content.decode()
    assert "Unknown action." in bad_action.content.decode()


# Stripe -----------------------------------------------------------------------------------


def test_team_checkout_buys_seats_through_stripe(client, stripe_fake, settings, post_webhook):
    buyer = UserFactory(email="buyer@acme.example")
    client.force_login(buyer)

    order = {"name": "Acme Integrators", "seats": "3"}
    review = client.post("/subscribe/team/", order)
    response = client.post("/subscribe/team/", {**order, "confirmed": "yes"})

    assert review.status_code == 200
    assert response.status_code == 303
    session = next(iter(stripe_fake.sessions.values()))
    assert session["_price"] == settings.STRIPE_PRICE_SEAT
    organisation = Organisation.objects.get(owner=buyer)
    _, events = stripe_fake.complete_checkout(session["id"])
    for event in events:
        assert post_webhook(event).status_code == 200

    organisation.refresh_from_db()
    assert (organisation.status, organisation.seats) == ("active", 3)
    assert organisation.stripe_customer_id == session["customer"]
    assert can_read_body(buyer, Report(is_free=False))


@pytest.mark.parametrize("seats", ["0", "2", "501", "many", "", "³"])
@pytest.mark.parametrize("confirmed", ["", "yes"])
def test_team_checkout_rejects_bad_seat_counts(client, stripe_fake, seats, confirmed):
    client.force_login(UserFactory())

    response = client.post(
        "/subscribe/team/", {"name": "Acme", "seats": seats, "confirmed": confirmed}, follow=True
    )

    assert response.status_code == 200
    assert "seats" in response.content.decode()
    assert response.redirect_chain[-1][0] == "/subscribe/#teams"
    assert stripe_fake.sessions == {}
    assert not Organisation.objects.exists()


def _org_subscription(stripe_fake, settings, organisation, seats):
    customer = stripe_fake.create_customer({"email": "billing@acme.example"})
    organisation.stripe_customer_id = customer["id"]
    organisation.save()
    subscription = stripe_fake.create_subscription(
        customer=customer["id"], price=settings.STRIPE_PRICE_SEAT,
        metadata={"organisation_id": str(organisation.pk)},
    )  # fmt: skip
    subscription["items"]["data"][0]["quantity"] = seats
    return subscription


def test_webhook_seat_reduction_removes_the_newest_members(stripe_fake, settings, post_webhook):
    organisation, owner = _licence(4)
    members = [organisation_join(organisation=organisation, user=UserFactory()) for _ in range(3)]
    subscription = _org_subscription(stripe_fake, settings, organisation, seats=2)

    post_webhook(stripe_fake.event("customer.subscription.updated", subscription))

    organisation.refresh_from_db()
    assert organisation.seats == 2
    remaining = set(organisation.members.values_list("pk", flat=True))
    assert remaining == {owner.seat.pk, members[0].pk}


def test_cancelled_organisation_subscription_removes_access_for_every_member(
    stripe_fake, settings, post_webhook
):
    organisation, owner = _licence(3)
    member = UserFactory()
    organisation_join(organisation=organisation, user=member)
    subscription = _org_subscription(stripe_fake, settings, organisation, seats=3)
    post_webhook(stripe_fake.event("customer.subscription.created", subscription))
    stripe_fake.update_subscription(subscription["id"], status="canceled")

    post_webhook(stripe_fake.event("customer.subscription.deleted", subscription))

    for person in (owner, member):
        person.refresh_from_db()
        assert not can_read_body(person, Report(is_free=False))


# Buying: at least TEAM_MIN_SEATS, the total before buying, the local test checkout --------


@pytest.fixture
def local_mode(settings):
    settings.DEBUG = True
    settings.STRIPE_SECRET_KEY = ""


def test_the_pricing_page_shows_the_total_for_the_fewest_seats(client):
    client.force_login(UserFactory())

    html = client.get("/subscribe/").content.decode()

    assert "$290 per seat a year, from 3 seats" in html
    assert 'name="seats" type="number" min="3" max="500" value="3"' in html
    assert "Total: <output" in html and "$870 a year for 3 seats</output>" in html
    assert 'data-seat-cents="29000"' in html
    assert '<script src="/static/js/team_total.js" defer></script>' in html


@pytest.mark.parametrize(("minimum", "refused", "accepted"), [(3, "2", "3"), (5, "4", "5")])
def test_a_team_licence_has_at_least_team_min_seats(
    client, stripe_fake, settings, minimum, refused, accepted
):
    settings.TEAM_MIN_SEATS = minimum
    client.force_login(UserFactory())

    too_few = client.post("/subscribe/team/", {"name": "Acme", "seats": refused}, follow=True)
    enough = client.post("/subscribe/team/", {"name": "Acme", "seats": accepted})

    assert f"A team licence has at least {minimum} seats." in too_few.content.decode()
    assert enough.status_code == 200
    assert "Team licence for Acme" in enough.content.decode()


def test_the_order_is_confirmed_with_the_total_before_anything_is_bought(client, stripe_fake):
    client.force_login(UserFactory(email="buyer@acme.example"))

    review = client.post("/subscribe/team/", {"name": " Acme  Integrators ", "seats": "5"})

    html = review.content.decode()
    assert "Team licence for Acme Integrators" in html
    assert "<td>5</td>" in html
    assert "<td>$290 a year</td>" in html
    assert "<td>$1,450 a year</td>" in html
    assert '<input type="hidden" name="confirmed" value="yes">' in html
    assert "Continue to payment" in html
    assert "no payment is taken" not in html
    assert stripe_fake.sessions == {} and stripe_fake.customers == {}
    assert not Organisation.objects.exists()


def test_the_local_team_checkout_confirms_then_activates_the_licence(local_mode, client):
    buyer = UserFactory(email="buyer@acme.example")
    client.force_login(buyer)
    order = {"name": "Acme Integrators", "seats": "3"}

    review = client.post("/subscribe/team/", order).content.decode()
    done = client.post("/subscribe/team/", {**order, "confirmed": "yes"}, follow=True)

    assert "Local test checkout — no payment is taken." in review
    assert "Complete test purchase" in review
    assert done.redirect_chain[-1][0] == "/team/"
    organisation = Organisation.objects.get(owner=buyer)
    assert (organisation.status, organisation.seats) == ("active", 3)
    assert organisation.stripe_subscription_id.startswith("sub_local_")
    assert "Seats used: <strong>1 of 3</strong>" in done.content.decode()


# The price check ---------------------------------------------------------------------------


def test_a_seat_cheaper_than_the_annual_plan_fails_the_system_check(settings):
    settings.PRICE_SEAT_CENTS = 24000
    settings.PRICE_ANNUAL_CENTS = 29000

    errors = team_prices_make_sense(None)

    assert [error.id for error in errors] == ["accounts.E002"]
    assert "below PRICE_ANNUAL_CENTS" in errors[0].msg


def test_the_default_prices_pass_and_match_their_display(settings):
    assert team_prices_make_sense(None) == []
    assert settings.PRICE_SEAT_CENTS >= settings.PRICE_ANNUAL_CENTS
    assert settings.PRICE_SEAT_DISPLAY.startswith(money_display(settings.PRICE_SEAT_CENTS) + " ")
    assert settings.PRICE_ANNUAL_DISPLAY.startswith(
        money_display(settings.PRICE_ANNUAL_CENTS) + " "
    )


def test_a_minimum_above_the_largest_licence_fails_the_system_check(settings):
    settings.TEAM_MIN_SEATS = 501

    assert [error.id for error in team_prices_make_sense(None)] == ["accounts.E003"]


def test_the_check_runs_with_manage_py_check(settings):
    settings.PRICE_SEAT_CENTS = 100

    with pytest.raises(SystemCheckError, match=r"accounts\.E002"):
        call_command("check")


# Changing seats ----------------------------------------------------------------------------


def _local_licence(client, buyer, seats=3) -> Organisation:
    client.force_login(buyer)
    client.post("/subscribe/team/", {"name": "Acme", "seats": str(seats), "confirmed": "yes"})
    return Organisation.objects.get(owner=buyer)


def test_changing_seats_locally_confirms_the_new_total_first(local_mode, client):
    organisation = _local_licence(client, UserFactory(email="owner@acme.example"))

    review = client.post("/team/", {"action": "seats", "seats": "5"})
    organisation.refresh_from_db()
    seats_before_confirming = organisation.seats
    done = client.post("/team/", {"action": "seats", "seats": "5", "confirmed": "yes"}, follow=True)

    html = review.content.decode()
    assert "3 → <strong>5</strong>" in html
    assert "$1,450 a year (was $870)" in html
    assert "no payment is taken" in html
    assert seats_before_confirming == 3
    assert "The licence now has 5 seats." in done.content.decode()
    organisation.refresh_from_db()
    assert (organisation.seats, organisation.status) == (5, "active")


def test_seats_never_go_below_those_in_use(local_mode, client):
    organisation = _local_licence(client, UserFactory(email="owner@acme.example"), seats=5)
    for _ in range(3):
        organisation_join(organisation=organisation, user=UserFactory())

    below_use = client.post("/team/", {"action": "seats", "seats": "3"}, follow=True)
    confirmed_below = client.post(
        "/team/", {"action": "seats", "seats": "3", "confirmed": "yes"}, follow=True
    )
    below_minimum = client.post("/team/", {"action": "seats", "seats": "2"}, follow=True)
    same = client.post("/team/", {"action": "seats", "seats": "5"}, follow=True)
    page = client.get("/team/").content.decode()

    for refused in (below_use, confirmed_below):
        assert "4 people hold a seat: remove someone before going below 4 seats." in (
            refused.content.decode()
        )
    assert "A team licence has at least 3 seats." in below_minimum.content.decode()
    assert "The licence already has 5 seats." in same.content.decode()
    assert 'name="seats" type="number" min="4"' in page
    organisation.refresh_from_db()
    assert organisation.seats == 5
    assert organisation.members.count() == 4


def test_only_the_teams_admins_change_seats(local_mode, client):
    organisation = _local_licence(client, UserFactory(email="owner@acme.example"))
    member = UserFactory()
    organisation_join(organisation=organisation, user=member)
    client.force_login(member)

    response = client.post("/team/", {"action": "seats", "seats": "9", "confirmed": "yes"})

    assert response.status_code == 302 and response["Location"] == "/accounts/profile/"
    organisation.refresh_from_db()
    assert organisation.seats == 3


def _stripe_licence(stripe_fake, settings, post_webhook, seats=3):
    organisation, owner = _licence(seats)
    subscription = _org_subscription(stripe_fake, settings, organisation, seats=seats)
    post_webhook(stripe_fake.event("customer.subscription.created", subscription))
    organisation.refresh_from_db()
    return organisation, owner, subscription


def test_changing_seats_with_stripe_sets_the_subscription_quantity(
    client, stripe_fake, settings, post_webhook
):
    organisation, owner, subscription = _stripe_licence(stripe_fake, settings, post_webhook)
    client.force_login(owner)

    client.post("/team/", {"action": "seats", "seats": "7"})
    assert stripe_fake.subscription_updates == []  # the review step changes nothing
    done = client.post("/team/", {"action": "seats", "seats": "7", "confirmed": "yes"}, follow=True)

    assert "The licence now has 7 seats." in done.content.decode()
    ((changed, params),) = stripe_fake.subscription_updates
    item = subscription["items"]["data"][0]
    assert changed == subscription["id"]
    assert params == {
        "items": [{"id": item["id"], "quantity": "7"}],
        "proration_behavior": "always_invoice",
    }
    assert item["quantity"] == 7
    organisation.refresh_from_db()
    assert organisation.seats == 7  # at once, before Stripe's webhook
    post_webhook(stripe_fake.event("customer.subscription.updated", subscription))
    organisation.refresh_from_db()
    assert organisation.seats == 7


def test_stripe_seat_changes_never_go_below_those_in_use(
    client, stripe_fake, settings, post_webhook
):
    organisation, owner, _ = _stripe_licence(stripe_fake, settings, post_webhook, seats=4)
    for _ in range(3):
        organisation_join(organisation=organisation, user=UserFactory())
    client.force_login(owner)

    refused = client.post(
        "/team/", {"action": "seats", "seats": "3", "confirmed": "yes"}, follow=True
    )

    assert "4 people hold a seat" in refused.content.decode()
    assert stripe_fake.subscription_updates == []
    organisation.refresh_from_db()
    assert (organisation.seats, organisation.members.count()) == (4, 4)


def test_a_stripe_outage_changes_no_seats_and_says_so(client, stripe_fake, settings, post_webhook):
    organisation, owner, _ = _stripe_licence(stripe_fake, settings, post_webhook)
    client.force_login(owner)
    stripe_fake.fail_requests = 10

    response = client.post(
        "/team/", {"action": "seats", "seats": "6", "confirmed": "yes"}, follow=True
    )

    assert "could not reach our payment provider; the seats did not change" in (
        response.content.decode()
    )
    organisation.refresh_from_db()
    assert organisation.seats == 3


def test_an_inactive_licence_has_no_seats_to_change(client, stripe_fake):
    _, owner = _licence(3, status="canceled")
    client.force_login(owner)

    for confirmed in ("", "yes"):
        response = client.post(
            "/team/", {"action": "seats", "seats": "5", "confirmed": confirmed}, follow=True
        )
        assert "The licence is not active" in response.content.decode()
    assert 'value="seats"' not in client.get("/team/").content.decode()


def test_the_team_page_costs_a_fixed_number_of_queries(client, django_assert_max_num_queries):
    organisation, owner = _licence(40)
    for _ in range(20):
        organisation_join(organisation=organisation, user=UserFactory())
    client.force_login(owner)

    # Session, user, the admin's seat and organisation, members, invitations, removals.
    with django_assert_max_num_queries(8):
        assert client.get("/team/").status_code == 200


# The invitation page and signing up from it -------------------------------------------------


def _invitation_path(organisation, owner, email="kim@acme.example") -> str:
    invitation = invitation_create(organisation=organisation, email=email, invited_by=owner)
    return f"/team/join/{invitation_token(invitation)}/"


def test_the_invitation_says_who_invited_whom_to_which_organisation(client):
    organisation, owner = _licence(3)
    owner.display_name = "Olu Admin"
    owner.save()
    path = _invitation_path(organisation, owner)

    page = client.get(path)

    html = page.content.decode()
    assert page.status_code == 200
    assert "<strong>Olu Admin</strong> invited <strong>kim@acme.example</strong> to " in html
    assert "<strong>Acme Integrators</strong>" in html
    signup = f"/accounts/signup/?{urlencode({'email': 'kim@acme.example', 'next': path})}"
    assert f'href="{signup.replace("&", "&amp;")}"' in html
    assert f'href="/accounts/login/?next={quote(path)}"' in html
    assert "no-store" in page["Cache-Control"]


def test_accepting_needs_an_account(client):
    organisation, owner = _licence(3)
    path = _invitation_path(organisation, owner)

    response = client.post(path)

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")
    assert organisation.members.count() == 1


def test_signup_from_the_invitation_has_the_address_filled_in(client):
    organisation, owner = _licence(3)
    path = _invitation_path(organisation, owner)

    form = client.get(f"/accounts/signup/?{urlencode({'email': 'kim@acme.example', 'next': path})}")

    html = form.content.decode()
    assert 'value="kim@acme.example"' in html
    assert f'name="next" value="{path}"' in html


def test_signup_from_the_invitation_refuses_another_address(client, mailoutbox):
    organisation, owner = _licence(3)
    path = _invitation_path(organisation, owner)

    response = client.post(
        f"/accounts/signup/?next={quote(path)}",
        {"email": "someone.else@example.com", "password1": PASSWORD, "next": path},
    )

    assert response.status_code == 200
    assert (
        "This invitation to Acme Integrators is for kim@acme.example: sign up with that "
        "address to join the team." in response.content.decode()
    )
    assert not User.objects.filter(email="someone.else@example.com").exists()


def test_signing_up_with_the_invited_address_leads_back_to_the_invitation(
    client, mailoutbox, django_capture_on_commit_callbacks
):
    organisation, owner = _licence(3)
    path = _invitation_path(organisation, owner)

    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            f"/accounts/signup/?next={quote(path)}",
            {"email": "kim@acme.example", "password1": PASSWORD, "next": path},
        )
    code = re.search(r"^\s*([A-Z0-9]{4}-[A-Z0-9]{4})\s*$", mailoutbox[-1].body, re.M).group(1)
    confirmed = client.post("/accounts/confirm-email/", {"code": code})

    assert confirmed.status_code == 302 and confirmed["Location"] == path
    assert client.post(path).status_code == 302
    assert organisation.members.filter(user__email="kim@acme.example").exists()


def test_an_ordinary_signup_is_not_held_to_any_invitation(client):
    response = client.post(
        "/accounts/signup/", {"email": "new.reader@example.com", "password1": PASSWORD}
    )

    assert response.status_code == 302
    assert User.objects.filter(email="new.reader@example.com").exists()


def test_the_invitation_page_costs_a_fixed_number_of_queries(client, django_assert_max_num_queries):
    organisation, owner = _licence(3)
    path = _invitation_path(organisation, owner)

    # The invitation with its organisation and inviter, and the session it starts.
    with django_assert_max_num_queries(2):
        assert client.get(path).status_code == 200


def test_a_public_email_service_cannot_be_a_teams_domain():
    organisation, owner = _licence(3)
    organisation_domains_update(
        organisation=organisation, admin=owner, domains="acme.example", auto_join=True
    )

    with pytest.raises(ApplicationError, match=r"gmail\.com is a public email service"):
        organisation_domains_update(
            organisation=organisation,
            admin=owner,
            domains="acme.example, Gmail.com",
            auto_join=True,
        )

    organisation.refresh_from_db()
    assert organisation.join_domains == "acme.example"
