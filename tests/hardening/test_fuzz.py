"""The fuzz pass: hypothesis drives every form and endpoint with generated input.

For every input: no response is a 500; a rejection (4xx, or a form shown again) says why
in words a reader can act on; and a rejection writes nothing (row counts of every table
the endpoint could touch are unchanged). Runs are derandomized, so a failure reproduces
with the same command, and bounded: the examples per endpoint are listed in BUDGET.
"""

import hashlib
import json
import re
import time
import traceback
from collections import Counter
from contextlib import contextmanager
from urllib.parse import quote

import pytest
from django.contrib.messages import get_messages
from django.core.cache import cache
from django.db import transaction
from django.test import Client
from django.utils.http import url_has_allowed_host_and_scheme
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.models import (
    Membership,
    MembershipEmail,
    NewsletterSubscriber,
    Organisation,
    OrganisationInvitation,
    OrganisationMember,
    StripeEvent,
    SubscriptionCancellation,
    User,
)
from reports.models import Comment, CommentFlag, GiftLink, NotificationPreference, Report
from tests.hardening.conftest import FUZZ_OUTCOMES
from tests.support.factories import PASSWORD
from tests.support.members import member_at_stripe
from tests.support.stripe_fake import sign

BUDGET = {
    "signup": 40, "login": 40, "password_reset": 25, "email_add": 30, "comment_post": 50,
    "comment_edit": 25, "comment_flag": 20, "search": 60, "pagination": 30,
    "webhook_unsigned": 40, "webhook_signed": 40, "gift_token": 25, "team_token": 25,
    "team_action": 40, "checkout": 25, "team_checkout": 25, "pricing_next": 20,
    "account_profile": 25, "account_delete": 15, "newsletter_signup": 40,
    "newsletter_confirm": 25, "newsletter_unsubscribe": 30, "newsletter_preferences": 30,
    "reply_unsubscribe": 30, "comment_hide": 25, "newsletter_preferences_link": 40,
    "subscription_cancel": 30, "team_invoice": 30,
}  # fmt: skip
WATCHED = [
    User, Membership, Organisation, OrganisationMember, OrganisationInvitation, StripeEvent,
    Comment, CommentFlag, GiftLink, Report, NewsletterSubscriber, NotificationPreference,
    SubscriptionCancellation, MembershipEmail,
]  # fmt: skip
ERROR_MARKERS = re.compile(
    r'class="[^"]*(?:errorlist|field__errors|message--error|alert)[^"]*"|role="alert"'
)


def fuzz(name: str):
    """Hypothesis settings for the fuzz test of endpoint `name`; its tally starts at zero."""
    FUZZ_OUTCOMES[name] = Counter()
    return settings(
        max_examples=BUDGET[name],
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[
            HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
            HealthCheck.data_too_large, HealthCheck.filter_too_much,
        ],
    )  # fmt: skip


# Strategies -----------------------------------------------------------------------------

NASTY = [
    "", " ", "\x00", "a\x00b", "\u202etxt.exe", "\u200b", "\uff10\uff11", "\U0001d54f",
    "é" * 300,
    "<script>alert(1)</script>", "' OR 1=1 --", "%00", "../../etc/passwd", "{{ 7*7 }}",
    "a" * 6000, "-1", "0", "99999999999999999999999", "1e9", "NaN", "null", "[]", "{}",
    "javascript:alert(1)", "//evil.example/", "https://evil.example/", "\r\nSet-Cookie: x=1",
    "\u00b2", "\u0661\u0662", "/\\evil.example", "/ok/\x00", "\uff11\uff12",
]  # fmt: skip
text = st.one_of(
    st.sampled_from(NASTY),
    st.text(st.characters(blacklist_categories=("Cs",)), max_size=300),
)
emails = st.one_of(
    st.emails().map(str),
    st.sampled_from(["free@example.com", "FREE@EXAMPLE.COM", "a@b", "@", "x@example.com\x00"]),
    text,
)
numbers = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70).map(str), st.sampled_from(NASTY)
)


# Checks ---------------------------------------------------------------------------------


def _counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in WATCHED}


def _message(response) -> str:
    """The words a rejection shows: form errors, an error box, a flash message, or the
    plain-text body of an API answer."""
    messages = (
        [str(m) for m in get_messages(response.wsgi_request)] if response.wsgi_request else []
    )
    content = response.content.decode(errors="replace") if not response.streaming else ""
    if response.get("Content-Type", "").startswith("text/plain"):
        return content.strip() or " ".join(messages)
    found = [content[m.start() : m.start() + 400] for m in ERROR_MARKERS.finditer(content)]
    if response.status_code >= 400:  # an error page names the problem in its heading
        found += re.findall(r"<h1[^>]*>(.*?)</h1>", content, re.S)
    return " ".join(messages + found)


def check(name: str, response, before: dict[str, int], *, accepted: bool) -> None:
    """Record the outcome and assert the contract for one generated input."""
    FUZZ_OUTCOMES[name][response.status_code] += 1
    if response.status_code >= 500 and getattr(response, "exc_info", None):
        trace = "".join(traceback.format_exception(*response.exc_info)[-6:])
        raise AssertionError(f"{name}: {response.status_code}\n{trace}")
    assert response.status_code < 500, f"{name}: {response.status_code}"
    if accepted:
        return
    assert _message(response), f"{name}: rejection without a message ({response.status_code})"
    assert _counts() == before, f"{name}: a rejected input wrote rows"


def sent_the_budget(name: str) -> None:
    """This test's own inputs: every one hypothesis was asked to generate reached the site."""
    sent = FUZZ_OUTCOMES[name].total()
    assert sent == BUDGET[name], f"{name}: {sent} inputs sent of {BUDGET[name]}"


@contextmanager
def example():
    """Each generated input against the same starting rows: its writes are rolled back."""
    cache.clear()
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


def _client(user=None) -> Client:
    client = Client(raise_request_exception=False)
    if user is not None:
        client.force_login(user)
    return client


@pytest.fixture(autouse=True)
def _no_rate_limits_between_examples():
    cache.clear()
    yield
    cache.clear()


# Accounts -------------------------------------------------------------------------------


STRONG = "a-long-unusual-passphrase"


def test_fuzz_signup(db, free_reader):
    @fuzz("signup")
    @given(email=emails, password=st.one_of(text, st.just(STRONG)), name=text, company=text)
    def run(email, password, name, company):
        with example():
            before = _counts()
            response = _client().post(
                "/accounts/signup/",
                {"email": email, "password1": password, "display_name": name, "company": company},
            )
            check("signup", response, before, accepted=response.status_code == 302)

    run()
    sent_the_budget("signup")


def test_fuzz_login(db, free_reader):
    @fuzz("login")
    @given(login=emails, password=st.one_of(text, st.just(PASSWORD)), remember=text)
    def run(login, password, remember):
        with example():
            before = _counts()
            response = _client().post(
                "/accounts/login/", {"login": login, "password": password, "remember": remember}
            )
            check("login", response, before, accepted=response.status_code == 302)

    run()
    sent_the_budget("login")


def test_fuzz_password_reset(db, free_reader):
    @fuzz("password_reset")
    @given(email=emails)
    def run(email):
        with example():
            before = _counts()
            response = _client().post("/accounts/password/reset/", {"email": email})
            check("password_reset", response, before, accepted=response.status_code == 302)

    run()
    sent_the_budget("password_reset")


def test_fuzz_email_add(db, free_reader):
    client = _client(free_reader)

    @fuzz("email_add")
    @given(email=emails, action=st.sampled_from(["action_add", "action_remove", "action_send",
                                                 "action_primary", "nonsense"]))  # fmt: skip
    def run(email, action):
        with example():
            before = _counts()
            response = client.post("/accounts/email/", {action: "", "email": email})
            check("email_add", response, before, accepted=response.status_code == 302)

    run()
    sent_the_budget("email_add")


def test_fuzz_account_profile(db, free_reader):
    client = _client(free_reader)

    @fuzz("account_profile")
    @given(name=text, company=text, notify=text)
    def run(name, company, notify):
        with example():
            before = _counts()
            response = client.post(
                "/accounts/profile/",
                {"display_name": name, "company": company, "notify_on_reply": notify},
            )
            check("account_profile", response, before, accepted=response.status_code == 302)

    run()
    sent_the_budget("account_profile")


def test_fuzz_account_delete(db, free_reader):
    client = _client(free_reader)

    @fuzz("account_delete")
    @given(password=text)
    def run(password):
        with example():
            before = _counts()
            response = client.post("/accounts/delete/", {"password": password})
            check("account_delete", response, before, accepted=False)

    run()
    sent_the_budget("account_delete")


# Comments -------------------------------------------------------------------------------


@pytest.fixture
def discussion(db, subscriber):
    from reports.comments.services import comment_create
    from tests.support.factories import ReportFactory

    report = ReportFactory(slug="fuzzed", title="Fuzzed report")
    comment = comment_create(author=subscriber, report=report, body="First comment.")
    return report, comment


def test_fuzz_comment_post(discussion, subscriber):
    _, comment = discussion
    client = _client(subscriber)

    @fuzz("comment_post")
    @given(body=text, parent=st.one_of(numbers, st.just(str(comment.pk))),
           fetch=st.booleans(), slug=st.sampled_from(["fuzzed", "no-such-report"]))  # fmt: skip
    def run(body, parent, fetch, slug):
        with example():
            before = _counts()
            headers = {"HTTP_X_REQUESTED_WITH": "fetch"} if fetch else {}
            response = client.post(
                f"/reports/{slug}/comments/", {"body": body, "parent": parent}, **headers
            )
            check("comment_post", response, before, accepted=response.status_code in (201, 302))

    run()
    sent_the_budget("comment_post")


def test_fuzz_comment_edit(discussion, subscriber):
    _, comment = discussion
    client = _client(subscriber)

    @fuzz("comment_edit")
    @given(body=text)
    def run(body):
        with example():
            before = _counts()
            response = client.post(f"/comments/{comment.pk}/edit/", {"body": body})
            check("comment_edit", response, before, accepted=response.status_code == 302)

    run()
    sent_the_budget("comment_edit")


def test_fuzz_comment_flag(discussion, client_for):
    from tests.support.factories import MembershipFactory

    _, comment = discussion
    reporter = MembershipFactory(user__email="reporter@example.com").user
    client = _client(reporter)

    @fuzz("comment_flag")
    @given(reason=text, target=st.one_of(st.just(str(comment.pk)), numbers.filter(str.isdigit)))
    def run(reason, target):
        with example():
            before = _counts()
            response = client.post(f"/comments/{target[:30]}/report/", {"reason": reason})
            check("comment_flag", response, before, accepted=response.status_code == 302)

    run()
    sent_the_budget("comment_flag")


def test_fuzz_comment_hide(discussion, editor):
    _, comment = discussion
    client = _client(editor)

    @fuzz("comment_hide")
    @given(reason=text, target=st.one_of(st.just(str(comment.pk)), numbers.filter(str.isdigit)))
    def run(reason, target):
        with example():
            before = _counts()
            response = client.post(f"/comments/{target[:30]}/hide/", {"reason": reason})
            check("comment_hide", response, before, accepted=response.status_code == 302)

    run()
    sent_the_budget("comment_hide")


# Reading: search and pagination ---------------------------------------------------------


def test_fuzz_search(discussion, client_for, subscriber):
    clients = [_client(), _client(subscriber)]

    @fuzz("search")
    @given(q=text, kind=st.one_of(st.sampled_from(["", "test", "shootout"]), text),
           topic=text, page=numbers, who=st.integers(0, 1))  # fmt: skip
    def run(q, kind, topic, page, who):
        with example():
            before = _counts()
            response = clients[who].get("/search/", {"q": q, "kind": kind, "topic": topic,
                                                     "page": page})  # fmt: skip
            check("search", response, before, accepted=response.status_code == 200)
            assert response.status_code == 200

    run()
    sent_the_budget("search")


def test_fuzz_pagination(discussion):
    report, _ = discussion
    pages = ["/", "/kinds/test/", f"/authors/{report.author.slug}/", "/topics/none/",
             "/gifts/", "/feed/"]  # fmt: skip

    @fuzz("pagination")
    @given(path=st.sampled_from(pages), page=numbers, extra=text)
    def run(path, page, extra):
        with example():
            before = _counts()
            response = _client().get(path, {"page": page, "format": extra, "p": page})
            check("pagination", response, before, accepted=response.status_code in (200, 302))

    run()
    sent_the_budget("pagination")


# Stripe webhook -------------------------------------------------------------------------

headers = st.one_of(
    text, st.builds(lambda t, v: f"t={t},v1={v}", numbers, text),
    st.builds(lambda v: f"t={int(time.time())},v1={v}", st.text("0123456789abcdef", max_size=64)),
)  # fmt: skip
json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), text),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)
EVENT_TYPES = [
    "checkout.session.completed", "customer.subscription.created",
    "customer.subscription.updated", "customer.subscription.deleted", "invoice.paid",
    "invoice.payment_failed", "customer.created", "",
]  # fmt: skip


OBJECT_KEYS = [
    "id", "object", "customer", "mode", "subscription", "client_reference_id", "metadata",
    "status", "items", "parent", "cancel_at_period_end", "quantity",
]  # fmt: skip
stripe_events = st.fixed_dictionaries(
    {
        "id": st.text(max_size=20).map(lambda s: "evt_" + s),
        "type": st.sampled_from(EVENT_TYPES),
        "created": st.integers(946684800, 4102444799),
        "data": st.fixed_dictionaries(
            {"object": st.dictionaries(st.sampled_from(OBJECT_KEYS), json_values, max_size=8)}
        ),
    }
)
loose_events = st.fixed_dictionaries(
    {
        "id": st.one_of(st.text(max_size=20).map(lambda s: "evt_" + s), json_values),
        "type": st.one_of(st.sampled_from(EVENT_TYPES), text),
        "created": st.one_of(st.integers(-(2**40), 2**40), json_values),
        "data": st.one_of(st.fixed_dictionaries({"object": json_values}), json_values),
    }
)


def test_fuzz_webhook_unsigned(db):
    @fuzz("webhook_unsigned")
    @given(body=st.one_of(st.binary(max_size=500), text.map(str.encode),
                          json_values.map(lambda v: json.dumps(v).encode())),
           signature=st.one_of(st.none(), headers))  # fmt: skip
    def run(body, signature):
        with example():
            before = _counts()
            extra = {} if signature is None else {"HTTP_STRIPE_SIGNATURE": signature}
            response = _client().post(
                "/stripe/webhook/", data=body, content_type="application/json", **extra
            )
            check("webhook_unsigned", response, before, accepted=False)
            assert response.status_code == 400

    run()
    sent_the_budget("webhook_unsigned")


def test_fuzz_webhook_signed(db, settings):
    """Correctly signed events with generated shapes: the handler must answer 2xx, 400 for
    an event it cannot read, or 503 to have Stripe retry; never crash or half-apply."""

    @fuzz("webhook_signed")
    @given(event=st.one_of(stripe_events, loose_events))
    def run(event):
        with example():
            before = _counts()
            body = json.dumps(event)
            response = _client().post(
                "/stripe/webhook/", data=body, content_type="application/json",
                HTTP_STRIPE_SIGNATURE=sign(body, settings.STRIPE_WEBHOOK_SECRET, int(time.time())),
            )  # fmt: skip
            check("webhook_signed", response, before, accepted=response.status_code == 200)
            assert response.status_code in (200, 400, 503), response.status_code
            if response.status_code == 503:
                assert _counts() == before  # Stripe will retry: nothing may be half-applied

    run()
    sent_the_budget("webhook_signed")


# Tokens, teams and billing --------------------------------------------------------------

tokens = st.one_of(text.filter(lambda t: "/" not in t and t), st.text("abcdef:-_0123456789",
                                                                         min_size=1))  # fmt: skip


def test_fuzz_gift_tokens(db):
    @fuzz("gift_token")
    @given(token=tokens)
    def run(token):
        with example():
            before = _counts()
            response = _client().get(f"/gift/{quote(token[:200], safe='')}/")
            check("gift_token", response, before, accepted=False)
            assert response.status_code in (404, 410)

    run()
    sent_the_budget("gift_token")


def test_fuzz_team_tokens(db, free_reader):
    client = _client(free_reader)

    @fuzz("team_token")
    @given(token=tokens, post=st.booleans())
    def run(token, post):
        with example():
            before = _counts()
            url = f"/team/join/{quote(token[:200], safe='')}/"
            response = client.post(url) if post else client.get(url)
            check("team_token", response, before, accepted=False)
            assert response.status_code in (400, 404)

    run()
    sent_the_budget("team_token")


@pytest.fixture
def team_admin(db):
    from datetime import timedelta

    from django.utils import timezone

    from tests.support.factories import UserFactory

    admin = UserFactory(email="admin@acme.example")
    organisation = Organisation.objects.create(
        name="Acme", owner=admin, seats=3, status="active",
        current_period_end=timezone.now() + timedelta(days=300),
    )  # fmt: skip
    OrganisationMember.objects.create(organisation=organisation, user=admin, is_admin=True)
    return admin


TEAM_ACTIONS = ["invite", "remove", "make_admin", "revoke", "domains", "billing"]


def test_fuzz_team_actions(team_admin):
    client = _client(team_admin)

    @fuzz("team_action")
    @given(
        action=st.one_of(st.sampled_from(TEAM_ACTIONS), text),
        email=emails,
        target=numbers,
        domains=text,
        auto_join=st.sampled_from(["on", "", "x"]),
    )
    def run(action, email, target, domains, auto_join):
        with example():
            before = _counts()
            data = {"action": action, "email": email, "id": target, "domains": domains}
            response = client.post("/team/", {**data, "auto_join": auto_join})
            levels = {m.level_tag for m in get_messages(response.wsgi_request)}
            accepted = response.status_code in (302, 303) and "error" not in levels
            check("team_action", response, before, accepted=accepted)

    run()
    sent_the_budget("team_action")


def test_fuzz_checkout(db, free_reader, stripe_fake):
    client = _client(free_reader)

    @fuzz("checkout")
    @given(plan=st.one_of(st.sampled_from(["monthly", "annual"]), text), next_url=text)
    def run(plan, next_url):
        with example():
            before = _counts()
            response = client.post("/subscribe/checkout/", {"plan": plan, "next": next_url})
            accepted = response.status_code == 303
            check("checkout", response, before, accepted=accepted)
            stored = client.session.get("subscribe_next", "")
            assert not stored or url_has_allowed_host_and_scheme(stored, {"testserver"}), stored
            assert stored.isprintable(), stored

    run()
    sent_the_budget("checkout")


def test_fuzz_subscription_cancel(db, stripe_fake, settings):
    member = member_at_stripe(
        stripe_fake, email="leaving@example.com", price=settings.STRIPE_PRICE_MONTHLY
    )
    client = _client(member)
    reasons = st.one_of(st.sampled_from(SubscriptionCancellation.Reason.values), text)

    @fuzz("subscription_cancel")
    @given(reason=reasons, detail=st.one_of(text, st.text(min_size=990, max_size=1100)))
    def run(reason, detail):
        with example():
            before = _counts()
            response = client.post(
                "/accounts/subscription/cancel/", {"reason": reason, "detail": detail}
            )
            check("subscription_cancel", response, before, accepted=response.status_code == 302)
            if response.status_code == 302:
                stored = SubscriptionCancellation.objects.get()
                assert len(stored.detail) <= SubscriptionCancellation.DETAIL_MAX_LENGTH
                assert "\x00" not in stored.detail and "\u202e" not in stored.detail

    run()
    sent_the_budget("subscription_cancel")


def test_fuzz_team_checkout(db, free_reader, stripe_fake):
    client = _client(free_reader)

    @fuzz("team_checkout")
    @given(seats=numbers, name=text)
    def run(seats, name):
        with example():
            before = _counts()
            response = client.post("/subscribe/team/", {"seats": seats, "name": name})
            check("team_checkout", response, before, accepted=response.status_code == 303)

    run()
    sent_the_budget("team_checkout")


INVOICE_ORDER = {
    "name": "Acme", "seats": "3", "billing_email": "ap@acme.example", "legal_name": "Acme AG",
    "line1": "Street 1", "city": "Zürich", "country": "CH", "tax_id_type": "ch_vat",
    "tax_id": "CHE-123.456.789 MWST", "purchase_order": "PO-1", "net_terms": "30",
}  # fmt: skip


def test_fuzz_team_invoice(db, free_reader, stripe_fake):
    """The order on invoice, one field garbled at a time: refused with its reason, nothing
    written; an order that passes makes its licence (and rolls back with the example)."""
    client = _client(free_reader)

    @fuzz("team_invoice")
    @given(field=st.sampled_from(sorted(INVOICE_ORDER)), value=st.one_of(text, numbers, emails))
    def run(field, value):
        with example():
            before = _counts()
            response = client.post("/subscribe/team/invoice/", {**INVOICE_ORDER, field: value})
            check("team_invoice", response, before, accepted=response.status_code == 302)

    run()
    sent_the_budget("team_invoice")


def test_fuzz_pricing_next(db):
    @fuzz("pricing_next")
    @given(next_url=text)
    def run(next_url):
        with example():
            before = _counts()
            response = _client().get("/subscribe/", {"next": next_url})
            check("pricing_next", response, before, accepted=True)
            assert response.status_code == 200
            assert 'value="//' not in response.content.decode()
            assert "evil.example" not in response.content.decode()

    run()
    sent_the_budget("pricing_next")


# Newsletter ------------------------------------------------------------------------------


@pytest.fixture
def newsletter_readers(db):
    from django.utils import timezone

    from tests.support.factories import NewsletterSubscriberFactory

    confirmed = NewsletterSubscriberFactory(email="fan@example.com")
    pending = NewsletterSubscriberFactory(
        email="pending@example.com", confirmed_at=None, confirmation_sent_at=timezone.now(),
        confirmation_token_hash=hashlib.sha256(b"known-confirm-token").hexdigest(),
    )  # fmt: skip
    return confirmed, pending


def test_fuzz_newsletter_signup(newsletter_readers, free_reader):
    clients = [_client(), _client(free_reader)]

    @fuzz("newsletter_signup")
    @given(email=emails, source=text, who=st.integers(0, 1))
    def run(email, source, who):
        with example():
            before = _counts()
            response = clients[who].post("/newsletter/", {"email": email, "source": source})
            check("newsletter_signup", response, before, accepted=response.status_code == 302)

    run()
    sent_the_budget("newsletter_signup")


def test_fuzz_newsletter_confirm(newsletter_readers):
    @fuzz("newsletter_confirm")
    @given(token=st.one_of(tokens, st.just("known-confirm-token")), post=st.booleans())
    def run(token, post):
        with example():
            before = _counts()
            url = f"/newsletter/confirm/{quote(token[:200], safe='')}/"
            response = _client().post(url) if post else _client().get(url)
            check("newsletter_confirm", response, before, accepted=response.status_code == 200)

    run()
    sent_the_budget("newsletter_confirm")


def test_fuzz_newsletter_unsubscribe(newsletter_readers):
    confirmed, _ = newsletter_readers

    @fuzz("newsletter_unsubscribe")
    @given(
        token=st.one_of(tokens, st.just(confirmed.token)),
        one_click=st.one_of(st.just("One-Click"), text),
        post=st.booleans(),
    )
    def run(token, one_click, post):
        with example():
            before = _counts()
            url = f"/newsletter/unsubscribe/{quote(token[:200], safe='')}/"
            client = _client()
            if post:
                response = client.post(url, {"List-Unsubscribe": one_click})
            else:
                response = client.get(url)
            check("newsletter_unsubscribe", response, before,
                  accepted=response.status_code == 200)  # fmt: skip

    run()
    sent_the_budget("newsletter_unsubscribe")


def test_fuzz_reply_unsubscribe(subscriber, free_reader):
    from reports.comments.services import reply_unsubscribe_token

    valid = reply_unsubscribe_token(user=subscriber)

    @fuzz("reply_unsubscribe")
    @given(
        token=st.one_of(tokens, st.just(valid), st.just(valid[:-1]), st.just(valid + "x")),
        one_click=st.one_of(st.just("One-Click"), text),
        post=st.booleans(),
    )
    def run(token, one_click, post):
        with example():
            before = _counts()
            User.objects.filter(pk=subscriber.pk).update(notify_on_reply=True)
            url = f"/comments/replies/unsubscribe/{quote(token[:200], safe='')}/"
            client = _client()
            if post:
                response = client.post(url, {"List-Unsubscribe": one_click})
            else:
                response = client.get(url)
            changed = not User.objects.get(pk=subscriber.pk).notify_on_reply
            accepted = response.status_code == 200
            check("reply_unsubscribe", response, before, accepted=accepted)  # fmt: skip
            assert changed == (post and accepted and token == valid)
            assert User.objects.get(pk=free_reader.pk).notify_on_reply

    run()
    sent_the_budget("reply_unsubscribe")


def test_fuzz_newsletter_preferences(newsletter_readers, free_reader, subscriber):
    from tests.support.factories import TopicFactory

    TopicFactory(slug="heat-pumps")
    clients = [_client(free_reader), _client(subscriber)]

    @fuzz("newsletter_preferences")
    @given(
        enabled=st.one_of(st.sampled_from(["on", ""]), text),
        scope=st.one_of(st.sampled_from(["all", "chosen"]), text),
        kinds=st.lists(st.one_of(st.sampled_from(["test", "news"]), text), max_size=3),
        topics=st.lists(st.one_of(st.just("heat-pumps"), numbers, text), max_size=3),
        who=st.integers(0, 1),
    )
    def run(enabled, scope, kinds, topics, who):
        with example():
            before = _counts()
            response = clients[who].post(
                "/newsletter/preferences/",
                {"enabled": enabled, "scope": scope, "kinds": kinds, "topics": topics},
            )
            check("newsletter_preferences", response, before,
                  accepted=response.status_code == 302)  # fmt: skip

    run()
    sent_the_budget("newsletter_preferences")


def test_fuzz_newsletter_preferences_link(newsletter_readers, free_reader):
    from accounts.newsletter.services import newsletter_preferences_token
    from tests.support.factories import TopicFactory

    confirmed, _ = newsletter_readers
    topic = TopicFactory(slug="heat-pumps")
    valid = newsletter_preferences_token(subscriber_token=confirmed.token)
    clients = [_client(), _client(free_reader)]

    @fuzz("newsletter_preferences_link")
    @given(
        token=st.one_of(st.sampled_from([valid, valid[:-1], confirmed.token]), tokens),
        action=st.one_of(st.sampled_from(["save", "unsubscribe"]), text),
        scope=st.one_of(st.sampled_from(["all", "chosen"]), text),
        kinds=st.lists(st.one_of(st.sampled_from(["test", "news"]), text), max_size=3),
        topics=st.lists(st.one_of(st.just(str(topic.pk)), numbers, text), max_size=3),
        who=st.integers(0, 1),
    )
    def run(token, action, scope, kinds, topics, who):
        with example():
            before = _counts()
            response = clients[who].post(
                f"/newsletter/preferences/{quote(token[:200], safe='')}/",
                {"action": action, "scope": scope, "kinds": kinds, "topics": topics},
            )
            unsubscribed = response.status_code == 200 and action == "unsubscribe"
            accepted = token == valid and (response.status_code == 302 or unsubscribed)
            check("newsletter_preferences_link", response, before, accepted=accepted)

    run()
    sent_the_budget("newsletter_preferences_link")


def test_the_fuzz_budget_is_at_least_500_inputs():
    """Each fuzz test checks it sent its own budget; together they are the pass's floor."""
    assert sum(BUDGET.values()) >= 500


# What the fuzz pass found, pinned as plain regression tests -----------------------------


def test_a_nul_character_in_a_comment_is_dropped_not_a_crash(discussion, subscriber):
    report, comment = discussion

    response = _client(subscriber).post(
        f"/reports/{report.slug}/comments/", {"body": "Fine\x00 text", "parent": str(comment.pk)}
    )

    assert response.status_code == 302
    assert Comment.objects.filter(body="Fine text").exists()


@pytest.mark.parametrize("value", ["\u00b2", "\u0661\u0662"])
def test_non_ascii_digits_in_ids_are_not_ids(discussion, subscriber, team_admin, value):
    report, _ = discussion

    page = _client(subscriber).get(report.get_absolute_url(), {"reply": value})
    comment = _client(subscriber).post(
        f"/reports/{report.slug}/comments/", {"body": "Hello", "parent": value}
    )
    team = _client(team_admin).post("/team/", {"action": "remove", "id": value})

    assert page.status_code == 200
    assert comment.status_code == 302
    assert team.status_code == 302


def test_signed_event_with_an_object_of_the_wrong_shape_is_refused_and_writes_nothing(db, settings):
    body = json.dumps(
        {"id": "evt_shape", "type": "customer.subscription.updated", "created": int(time.time()),
         "data": {"object": {"status": "active"}}}
    )  # fmt: skip

    response = _client().post(
        "/stripe/webhook/", data=body, content_type="application/json",
        HTTP_STRIPE_SIGNATURE=sign(body, settings.STRIPE_WEBHOOK_SECRET, int(time.time())),
    )  # fmt: skip

    assert response.status_code == 400
    assert response.content == b"Malformed event object."
    assert not StripeEvent.objects.exists()


def test_checkout_keeps_only_a_local_path_to_return_to(db, free_reader, stripe_fake):
    client = _client(free_reader)

    for value in ["/reports/x/\x00", "reports/x/", "//evil.example/", "/\\evil.example"]:
        client.post("/subscribe/checkout/", {"plan": "monthly", "next": value})
        assert client.session["subscribe_next"] == "", value
    client.post("/subscribe/checkout/", {"plan": "monthly", "next": "/reports/x/"})
    assert client.session["subscribe_next"] == "/reports/x/"


def test_newsletter_preferences_say_what_was_wrong_with_a_choice(free_reader):
    response = _client(free_reader).post(
        "/newsletter/preferences/", {"enabled": "on", "scope": "sometimes", "kinds": ["poems"]}
    )

    page = response.content.decode()
    assert "Select a valid choice. sometimes is not one of the available choices." in page
    assert "Select a valid choice. poems is not one of the available choices." in page
