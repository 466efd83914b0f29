"""Who is speaking in comments: a company is verified from a seat or an organisation's
domain, self-declared otherwise, and the cached thread follows seat and domain changes."""

from datetime import timedelta

import pytest
from allauth.account.models import EmailAddress
from django.core.cache import cache
from django.utils import timezone

from accounts.models import Organisation, OrganisationMember
from accounts.organisations.affiliations import affiliations_attach, with_domain_claims
from accounts.organisations.services import member_remove, organisation_domains_update
from reports.comments.services import comment_create
from reports.models import Comment
from tests.support.factories import MembershipFactory, ReportFactory, UserFactory

pytestmark = pytest.mark.django_db

VERIFIED = '<span class="verified"'
SELF_DECLARED = '<span class="self-declared"'


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()


@pytest.fixture
def report():
    return ReportFactory(slug="paid", title="A paid report")


def _organisation(name: str, *, domains: str = "") -> Organisation:
    owner = UserFactory(email=f"owner@{name.lower().replace(' ', '')}.example")
    organisation = Organisation.objects.create(
        name=name, owner=owner, seats=5, status="active", join_domains=domains,
        current_period_end=timezone.now() + timedelta(days=300),
    )  # fmt: skip
    OrganisationMember.objects.create(organisation=organisation, user=owner, is_admin=True)
    return organisation


def _commenter(email: str, *, company: str = "", verified: bool = True):
    user = MembershipFactory(user__email=email, user__company=company).user
    EmailAddress.objects.filter(user=user).update(verified=verified)
    return user


def _company_markup(client, reader) -> str:
    html = client(reader).get("/reports/paid/").content.decode()
    start = html.index('<span class="comment__company">')
    return html[start : html.index("</span></span>", start)]


def test_a_seat_holders_company_is_the_organisation_verified(client_for, subscriber, report):
    organisation = _organisation("Heatpump Vendor Ltd")
    author = _commenter("sales@gmail.example", company="Independent installer")
    OrganisationMember.objects.create(organisation=organisation, user=author)
    comment_create(author=author, report=report, body="Our units are the best")

    markup = _company_markup(client_for, subscriber)
    assert "Heatpump Vendor Ltd" in markup and VERIFIED in markup
    assert "Independent installer" not in markup
    assert markup.endswith("</span>verified")  # the word, not only the check mark


def test_a_verified_address_at_an_organisations_domain_is_verified(client_for, subscriber, report):
    _organisation("Heatpump Vendor Ltd", domains="vendor.example, vendor-group.example")
    author = _commenter("sam@Vendor-Group.example", company="Just a homeowner")
    comment_create(author=author, report=report, body="Our units are the best")

    markup = _company_markup(client_for, subscriber)
    assert "Heatpump Vendor Ltd" in markup and VERIFIED in markup


def test_an_unverified_address_or_a_similar_domain_vouches_for_nothing(
    client_for, subscriber, report
):
    _organisation("Heatpump Vendor Ltd", domains="vendor.example")
    comment_create(
        author=_commenter("sam@vendor.example", company="Acme", verified=False),
        report=report,
        body="Unverified address",
    )
    comment_create(
        author=_commenter("kim@notvendor.example", company="Beta"),
        report=report,
        body="Lookalike domain",
    )

    html = client_for(subscriber).get("/reports/paid/").content.decode()
    assert "Heatpump Vendor Ltd" not in html
    assert html.count(SELF_DECLARED) == 2
    assert VERIFIED not in html


def test_a_domain_two_organisations_list_vouches_for_neither(client_for, subscriber, report):
    _organisation("Vendor One", domains="shared.example")
    _organisation("Vendor Two", domains="shared.example")
    comment_create(
        author=_commenter("pat@shared.example", company="Pat's Plumbing"),
        report=report,
        body="Hello",
    )

    markup = _company_markup(client_for, subscriber)
    assert "Pat&#x27;s Plumbing" in markup and SELF_DECLARED in markup


def test_a_typed_company_is_self_declared_unless_staff_checked_it(client_for, subscriber, report):
    comment_create(author=_commenter("a@one.example", company="Typed Co"), report=report, body="1")
    checked = _commenter("b@two.example", company="Checked Co")
    checked.company_verified = True
    checked.save()
    comment_create(author=checked, report=report, body="2")

    html = client_for(subscriber).get("/reports/paid/").content.decode()
    typed = html[html.index("Typed Co") :][:200]
    assert "self-declared" in typed
    staff_checked = html[html.index("Checked Co") :][:200]
    assert ">verified</span>" in staff_checked


def test_seat_and_domain_changes_retire_the_cached_thread(client_for, subscriber, report):
    organisation = _organisation("Heatpump Vendor Ltd")
    author = _commenter("sam@vendor.example", company="Just a homeowner")
    seat = OrganisationMember.objects.create(organisation=organisation, user=author)
    comment_create(author=author, report=report, body="Our units are the best")
    assert "Heatpump Vendor Ltd" in _company_markup(client_for, subscriber)

    member_remove(organisation=organisation, admin=organisation.owner, member_id=seat.pk)
    markup = _company_markup(client_for, subscriber)
    assert "Just a homeowner" in markup and SELF_DECLARED in markup

    organisation_domains_update(
        organisation=organisation,
        admin=organisation.owner,
        domains="vendor.example",
        auto_join=False,
    )
    markup = _company_markup(client_for, subscriber)
    assert "Heatpump Vendor Ltd" in markup and VERIFIED in markup


@pytest.mark.parametrize("count", [1, 300])
def test_affiliations_cost_no_query_per_commenter(
    client_for, subscriber, report, django_assert_max_num_queries, count
):
    organisation = _organisation("Vendor", domains="vendor.example")
    authors = []
    for n in range(min(count, 9)):
        kind = n % 3
        author = _commenter(f"a{n}@{'vendor' if kind == 1 else 'own'}.example", company=f"Co {n}")
        if kind == 0:
            OrganisationMember.objects.create(organisation=organisation, user=author)
        authors.append(author)
    Comment.objects.bulk_create(
        [
            Comment(report=report, author=authors[n % len(authors)], body="c", body_html="<p>c</p>")
            for n in range(count)
        ]
    )
    client = client_for(subscriber)

    with django_assert_max_num_queries(10):
        html = client.get("/reports/paid/").content.decode()
    assert html.count('<span class="comment__company">') == count


def test_rows_loaded_without_the_domain_annotation_get_the_same_affiliations(
    report, django_assert_max_num_queries
):
    """Outside PostgreSQL (`make run` on SQLite) the thread's query has no domain claims;
    the affiliations then come from two queries of their own, and agree."""
    organisation = _organisation("Heatpump Vendor Ltd", domains="vendor.example")
    _organisation("Vendor One", domains="shared.example")
    _organisation("Vendor Two", domains="shared.example")
    seated = _commenter("kim@own.example", company="Kim Co")
    OrganisationMember.objects.create(organisation=organisation, user=seated)
    for author in [
        seated,
        _commenter("sam@vendor.example", company="Sam Co"),
        _commenter("pat@shared.example", company="Pat Co"),
        _commenter("lee@unverified.example", company="Lee Co", verified=False),
    ]:
        comment_create(author=author, report=report, body="Hello")
    base = Comment.objects.filter(report=report).select_related("author__seat__organisation")

    annotated = list(with_domain_claims(base, user_id_field="author_id"))
    affiliations_attach(annotated, user_attr="author")
    plain = list(base)
    with django_assert_max_num_queries(2):
        affiliations_attach(plain, user_attr="author")

    seen = {c.author.email: (c.affiliation.company, c.affiliation.verified) for c in plain}
    assert seen == {
        c.author.email: (c.affiliation.company, c.affiliation.verified) for c in annotated
    }
    assert seen == {
        "kim@own.example": ("Heatpump Vendor Ltd", True),
        "sam@vendor.example": ("Heatpump Vendor Ltd", True),
        "pat@shared.example": ("Pat Co", False),
        "lee@unverified.example": ("Lee Co", False),
    }
