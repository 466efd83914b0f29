"""Whose company a commenter speaks for, and whether we can vouch for it.

Readers weigh a comment from a vendor's employee differently (trade publications' rule for
promotional comments), so the company shown next to a commenter says where it comes from:

- verified, from their seat in an organisation's team licence;
- verified, from a verified email address at a domain that exactly one organisation lists
  as its own (a domain two organisations claim vouches for neither);
- verified, when staff checked the company they typed (`User.company_verified`);
- self-declared otherwise: the company they typed on their account page.
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from functools import reduce
from operator import or_
from typing import Any

from allauth.account.models import EmailAddress
from django.contrib.postgres.expressions import ArraySubquery
from django.db import connection
from django.db.models import Func, Model, OuterRef, Q, QuerySet, Value
from django.db.models.functions import JSONObject, Lower

from accounts.models import Organisation, User


class AffiliationBasis(StrEnum):
    SEAT = "seat"
    DOMAIN = "domain"
    STAFF = "staff"
    SELF = "self"


@dataclass(frozen=True)
class Affiliation:
    company: str
    basis: AffiliationBasis

    @property
    def verified(self) -> bool:
        return self.basis is not AffiliationBasis.SELF

    @property
    def explanation(self) -> str:
        return {
            AffiliationBasis.SEAT: "Holds a seat in this organisation's team licence",
            AffiliationBasis.DOMAIN: "Has a verified email address at this organisation's domain",
            AffiliationBasis.STAFF: "Affiliation checked by our staff",
            AffiliationBasis.SELF: "Company as the commenter gave it; not checked",
        }[self.basis]


_CLAIMS = "affiliation_domain_claims"


def _domain_claims(user_id: OuterRef) -> ArraySubquery:
    # For each of the user's verified addresses, its domain and the organisations whose list
    # mentions it: [{"domain": …, "organisations": [{"id", "name", "domains"}]}].
    organisations = Organisation.objects.filter(join_domains__icontains=OuterRef("domain")).values(
        json=JSONObject(id="pk", name="name", domains="join_domains")
    )
    emails = (
        EmailAddress.objects.filter(user_id=user_id, verified=True)
        .annotate(domain=Func(Lower("email"), Value("@"), Value(2), function="split_part"))
        .values(json=JSONObject(domain="domain", organisations=ArraySubquery(organisations)))
    )
    return ArraySubquery(emails)


def with_domain_claims[M: Model](queryset: QuerySet[M], *, user_id_field: str) -> QuerySet[M]:
    """`queryset`, its rows carrying what `affiliations_attach` needs about the domains of
    the user they name, in the same query (PostgreSQL; elsewhere, as in `make run` on
    SQLite, `affiliations_attach` asks in two queries of its own)."""
    if connection.vendor != "postgresql":
        return queryset
    return queryset.annotate(**{_CLAIMS: _domain_claims(OuterRef(user_id_field))})


def _domain(email: str) -> str:
    return email.rsplit("@", 1)[-1].lower()


def _claims_by_user(user_ids: set[int]) -> dict[int, list[dict[str, Any]]]:
    """What `_domain_claims` gives, for rows loaded without it: two queries."""
    domains: dict[int, set[str]] = defaultdict(set)
    for user_id, email in EmailAddress.objects.filter(
        user_id__in=user_ids, verified=True
    ).values_list("user_id", "email"):
        domains[user_id].add(_domain(email))
    wanted = set().union(*domains.values())
    organisations = (
        list(
            Organisation.objects.filter(
                reduce(or_, (Q(join_domains__icontains=d) for d in wanted))
            ).values("id", "name", "join_domains")
        )
        if wanted
        else []
    )
    return {
        user_id: [
            {
                "domain": domain,
                "organisations": [
                    {"id": o["id"], "name": o["name"], "domains": o["join_domains"]}
                    for o in organisations
                    if domain in o["join_domains"].lower()
                ],
            }
            for domain in user_domains
        ]
        for user_id, user_domains in domains.items()
    }


def affiliations_attach(rows: Iterable[Any], *, user_attr: str) -> None:
    """Set `row.affiliation` (an Affiliation or None) on each row from the user it names at
    `user_attr` (loaded with `select_related(f"{user_attr}__seat__organisation")`). No query
    when the rows came through `with_domain_claims` on PostgreSQL."""
    rows = list(rows)
    fallback: dict[int, list[dict[str, Any]]] | None = None
    if rows and not hasattr(rows[0], _CLAIMS):
        fallback = _claims_by_user(
            {user.pk for row in rows if (user := getattr(row, user_attr)) is not None}
        )
    for row in rows:
        user = getattr(row, user_attr)
        if user is None:
            row.affiliation = None
            continue
        claims = getattr(row, _CLAIMS) if fallback is None else fallback.get(user.pk, [])
        row.affiliation = affiliation_for(user, claims)


def _listed(domains: str) -> set[str]:
    # The same parsing as Organisation.domains, on the raw list the query returns.
    return {d.strip().lower().lstrip("@") for d in domains.split(",") if d.strip()}


def affiliation_for(user: User, claims: list[dict[str, Any]] | None) -> Affiliation | None:
    """The user's affiliation, given `claims` from `domain_claims` (None: not loaded, so no
    domain vouches). The seat comes from `user.affiliation_seat` (select_related it)."""
    seat = user.affiliation_seat
    if seat is not None:
        return Affiliation(seat.organisation.name, AffiliationBasis.SEAT)
    vouched: set[tuple[int, str]] = set()
    for claim in claims or []:
        owners = {
            (organisation["id"], organisation["name"])
            for organisation in claim["organisations"] or []
            if claim["domain"] in _listed(organisation["domains"])
        }
        if len(owners) == 1:
            vouched |= owners
    if len(vouched) == 1:
        return Affiliation(vouched.pop()[1], AffiliationBasis.DOMAIN)
    if user.company:
        basis = AffiliationBasis.STAFF if user.company_verified else AffiliationBasis.SELF
        return Affiliation(user.company, basis)
    return None
