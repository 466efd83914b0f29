"""Organisation licences: buying seats, seat limits under races, invitations, domains and
webhook-driven changes."""

import re
import threading
from datetime import timedelta

import pytest
from allauth.account.models import EmailAddress
from allauth.account.signals import email_confirmed
from django.db import connection
from django.utils import timezone

from accounts.models import Organisation, OrganisationMember, OrganisationRemoval, User
from accounts.organisations.services import (
    invitation_create,
    invitation_token,
    member_remove,
    organisation_autojoin,
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

    response = client.post("/subscribe/team/", {"name": "Acme Integrators", "seats": "3"})

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


@pytest.mark.parametrize("seats", ["0", "501", "many", ""])
def test_team_checkout_rejects_bad_seat_counts(client, stripe_fake, seats):
    client.force_login(UserFactory())

    response = client.post("/subscribe/team/", {"name": "Acme", "seats": seats}, follow=True)

    assert response.status_code == 200
    assert "seats" in response.content.decode()
    assert stripe_fake.sessions == {}


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
