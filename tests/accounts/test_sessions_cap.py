"""One person, one account: the cap on signed-in sessions, Your sessions, the network report."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from allauth.usersessions.models import UserSession
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from accounts.models import SessionNetwork
from accounts.sessions.devices import device_summary, network_of
from accounts.sessions.services import session_networks_prune
from tests.support.factories import PASSWORD, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

FIREFOX_WINDOWS = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0"
SAFARI_IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1"
)
CHROME_LINUX = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
EDGE_MAC = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0"
)
CAP_NOTICE = "You were signed out because your account signed in on another device"


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()


@pytest.fixture
def clock():
    with time_machine.travel(datetime(2026, 11, 2, 15, 0, tzinfo=UTC), tick=False) as traveller:
        yield traveller


def sign_in(user, *, agent: str, ip: str, clock=None) -> tuple[Client, object]:
    client = Client(HTTP_USER_AGENT=agent, REMOTE_ADDR=ip)
    response = client.post(
        reverse("account_login"), {"login": user.email, "password": PASSWORD}, follow=True
    )
    assert response.context["user"].is_authenticated
    if clock is not None:
        clock.shift(timedelta(minutes=10))
    return client, response


def signed_in(client: Client) -> bool:
    return client.get(reverse("accounts:account")).status_code == 200


def test_a_further_sign_in_ends_the_oldest_session_and_tells_both_devices(clock, subscriber):
    first, _ = sign_in(subscriber, agent=FIREFOX_WINDOWS, ip="198.51.100.7", clock=clock)
    second, _ = sign_in(subscriber, agent=SAFARI_IPHONE, ip="198.51.100.8", clock=clock)
    third, _ = sign_in(subscriber, agent=CHROME_LINUX, ip="203.0.113.9", clock=clock)
    assert UserSession.objects.filter(user=subscriber).count() == 3

    fourth, response = sign_in(subscriber, agent=EDGE_MAC, ip="192.0.2.1")

    assert (
        "You were signed out on your oldest device (Firefox on Windows" in response.content.decode()
    )
    assert UserSession.objects.filter(user=subscriber).count() == 3
    assert not UserSession.objects.filter(user=subscriber, user_agent=FIREFOX_WINDOWS).exists()
    assert signed_in(second) and signed_in(third) and signed_in(fourth)

    ended = first.get("/reports/", follow=True)
    assert ended.redirect_chain[0][0].startswith(reverse("account_login") + "?next=")
    assert CAP_NOTICE in ended.content.decode()
    assert not ended.context["user"].is_authenticated
    # The notice shows once.
    assert CAP_NOTICE not in first.get(reverse("account_login")).content.decode()


def test_the_session_limit_comes_from_settings(clock, subscriber, settings):
    settings.MAX_SESSIONS_PER_USER = 1
    first, _ = sign_in(subscriber, agent=FIREFOX_WINDOWS, ip="198.51.100.7", clock=clock)
    second, _ = sign_in(subscriber, agent=SAFARI_IPHONE, ip="198.51.100.8")
    assert signed_in(second)
    assert not signed_in(first)


def test_staff_are_not_capped(clock, editor):
    clients = [
        sign_in(editor, agent=agent, ip=f"198.51.{n}.7", clock=clock)[0]
        for n, agent in enumerate([FIREFOX_WINDOWS, SAFARI_IPHONE, CHROME_LINUX, EDGE_MAC])
    ]
    assert all(signed_in(client) for client in clients)
    assert UserSession.objects.filter(user=editor).count() == 4


def test_your_sessions_lists_each_device_and_signs_one_out(clock, subscriber):
    phone, _ = sign_in(subscriber, agent=SAFARI_IPHONE, ip="198.51.100.8", clock=clock)
    laptop, _ = sign_in(subscriber, agent=FIREFOX_WINDOWS, ip="198.51.100.7")

    html = laptop.get(reverse("usersessions_list")).content.decode()
    assert "Safari on iPhone" in html and "198.51.100.8" in html
    assert "Firefox on Windows" in html and "This device" in html
    assert "csrfmiddlewaretoken" in html
    account = laptop.get(reverse("accounts:account")).content.decode()
    assert "can be signed in on 3 devices at once" in account
    assert reverse("usersessions_list") in account

    phone_session = UserSession.objects.get(user=subscriber, user_agent=SAFARI_IPHONE)
    response = laptop.post(
        reverse("accounts:session_sign_out"), {"session": phone_session.pk}, follow=True
    )
    assert "Signed out Safari on iPhone (198.51.100.8)." in response.content.decode()
    assert signed_in(laptop)
    notice = phone.get(reverse("accounts:account"), follow=True).content.decode()
    assert "You were signed out from another of your devices" in notice


def test_sign_out_refuses_another_accounts_session_and_nonsense(clock, subscriber):
    other = MembershipFactory().user
    sign_in(other, agent=SAFARI_IPHONE, ip="198.51.100.8", clock=clock)
    mine, _ = sign_in(subscriber, agent=FIREFOX_WINDOWS, ip="198.51.100.7")
    theirs = UserSession.objects.get(user=other)

    for value in [theirs.pk, "x", "", "9" * 40, "\u0661"]:
        response = mine.post(reverse("accounts:session_sign_out"), {"session": value}, follow=True)
        assert response.status_code == 200
        assert "no longer signed in" in response.content.decode()
    assert UserSession.objects.filter(pk=theirs.pk).exists()


def test_sign_out_all_other_devices(clock, subscriber):
    others = [
        sign_in(subscriber, agent=agent, ip="198.51.100.8", clock=clock)[0]
        for agent in [SAFARI_IPHONE, CHROME_LINUX]
    ]
    mine, _ = sign_in(subscriber, agent=FIREFOX_WINDOWS, ip="198.51.100.7")
    response = mine.post(reverse("usersessions_list"), follow=True)
    assert "Signed out of all other sessions." in response.content.decode()
    assert signed_in(mine)
    notice = others[0].get(reverse("accounts:account"), follow=True).content.decode()
    assert "You were signed out from another of your devices" in notice
    assert not signed_in(others[1])
    assert mine.get(reverse("accounts:session_sign_out")).status_code == 405


def test_the_sessions_page_needs_a_login():
    response = Client().get(reverse("usersessions_list"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_the_address_comes_from_the_trusted_proxy_rule(clock, subscriber, settings):
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 1
    client = Client(
        HTTP_USER_AGENT=FIREFOX_WINDOWS,
        REMOTE_ADDR="127.0.0.1",
        HTTP_X_FORWARDED_FOR="6.6.6.6, 198.51.100.7",
    )
    client.post(reverse("account_login"), {"login": subscriber.email, "password": PASSWORD})

    assert UserSession.objects.get(user=subscriber).ip == "198.51.100.7"
    assert list(SessionNetwork.objects.values_list("network", flat=True)) == ["198.51.100.0/24"]


def test_activity_records_each_new_network_and_the_last_seen_time(clock, subscriber):
    client, _ = sign_in(subscriber, agent=FIREFOX_WINDOWS, ip="198.51.100.7")
    session = UserSession.objects.get(user=subscriber)
    signed_in_at = session.last_seen_at

    clock.shift(timedelta(minutes=1))
    client.get(reverse("accounts:account"), REMOTE_ADDR="198.51.100.99")  # same /24, too soon
    assert UserSession.objects.get(pk=session.pk).last_seen_at == signed_in_at
    client.get(reverse("accounts:account"), REMOTE_ADDR="2001:db8:1:2::5")
    clock.shift(timedelta(minutes=10))
    client.get(reverse("accounts:account"), REMOTE_ADDR="198.51.100.99")

    session.refresh_from_db()
    assert session.last_seen_at > signed_in_at
    assert session.ip == "198.51.100.99"
    assert sorted(SessionNetwork.objects.values_list("network", flat=True)) == [
        "198.51.100.0/24",
        "2001:db8:1::/48",
    ]


def test_networks_and_devices_are_summarised():
    assert network_of("203.0.113.77") == "203.0.113.0/24"
    assert network_of("::ffff:203.0.113.77") == "203.0.113.0/24"
    assert network_of("2001:db8:abcd:12::1") == "2001:db8:abcd::/48"
    assert device_summary(EDGE_MAC) == "Edge on macOS"
    assert device_summary(CHROME_LINUX) == "Chrome on Linux"
    assert device_summary("") == "Unknown browser"


# The admin's report ---------------------------------------------------------------------


def _networks(user, day, count, *, prefix="10.0"):
    SessionNetwork.objects.bulk_create(
        [SessionNetwork(user=user, day=day, network=f"{prefix}.{n}.0/24") for n in range(count)]
    )


def test_network_report_lists_accounts_over_the_threshold_in_bounded_queries(
    clock, client_for, django_assert_max_num_queries, settings
):
    settings.SESSION_NETWORKS_PER_DAY = 4
    today = datetime(2026, 11, 2).date()
    shared = UserFactory(email="shared@example.com")
    traveller = UserFactory(email="traveller@example.com")
    old = UserFactory(email="old@example.com")
    _networks(shared, today - timedelta(days=3), 7)
    _networks(traveller, today, 4)
    _networks(old, today - timedelta(days=31), 9)
    for n in range(30):
        _networks(UserFactory(), today, 5, prefix=f"10.{n + 1}")
    admin = client_for(UserFactory(is_staff=True, is_superuser=True))

    assert "session networks" in admin.get(reverse("admin:index")).content.decode().lower()
    with django_assert_max_num_queries(12):
        response = admin.get(reverse("admin:accounts_sessionnetwork_changelist"))
    html = response.content.decode()
    assert response.status_code == 200
    assert "shared@example.com" in html and "10.0.6.0/24" in html
    assert html.index("shared@example.com") < html.index("reader")
    assert "traveller@example.com" not in html
    assert "old@example.com" not in html


def test_network_report_needs_the_view_permission(client_for, editor, subscriber):
    url = reverse("admin:accounts_sessionnetwork_changelist")
    assert client_for(editor).get(url).status_code == 403
    assert client_for(subscriber).get(url).status_code == 302


def test_a_session_no_sign_in_of_ours_recorded_is_listed_as_this_device(client_for, subscriber):
    """A session from before sessions were counted (or the admin's own login) is still this
    device: listed, and from then on counted."""
    client = client_for(subscriber)

    html = client.get(reverse("usersessions_list")).content.decode()
    assert "This device" in html
    assert UserSession.objects.filter(user=subscriber).count() == 1


def test_networks_older_than_the_report_are_pruned(clock):
    user = UserFactory()
    today = datetime(2026, 11, 2).date()
    _networks(user, today - timedelta(days=29), 2)
    _networks(user, today - timedelta(days=30), 3)

    assert session_networks_prune(today=today) == 3
    assert SessionNetwork.objects.count() == 2
