"""Whose company a commenter speaks for, and whether we can vouch for it.

Readers weigh a comment from a vendor's employee differently (trade publications' rule for
promotional comments), so the company shown next to a commenter says where it comes from:

- verified, from their seat in an organisation's team licence;
- verified, from a verified email address at a domain that exactly one organisation lists
  as its own (a domain two organisations claim vouches for neither);
- verified, when staff checked the company they typed (`User.company_verified`);
- self-declared otherwise: the company they typed on their account page.
"""

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from allauth.account.models import EmailAddress
from django.contrib.postgres.expressions import ArraySubquery
from django.db.models import Func, OuterRef, Value
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


def domain_claims(user_id: OuterRef) -> ArraySubquery:
    """An expression for a query over rows naming a user (`OuterRef("author_id")`): for each
    of that user's verified email addresses, its domain and the organisations whose domain
    list mentions it, as [{"domain": …, "organisations": [{"id", "name", "domains"}]}]. It
    costs no query of its own; `affiliation_for` makes the exact comparison."""
    organisations = Organisation.objects.filter(join_domains__icontains=OuterRef("domain")).values(
        json=JSONObject(id="pk", name="name", domains="join_domains")
    )
    emails = (
        EmailAddress.objects.filter(user_id=user_id, verified=True)
        .annotate(domain=Func(Lower("email"), Value("@"), Value(2), function="split_part"))
        .values(json=JSONObject(domain="domain", organisations=ArraySubquery(organisations)))
    )
    return ArraySubquery(emails)


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
