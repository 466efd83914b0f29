"""Office networks: the address ranges from which an organisation's licence reads.

What a range means for access is decided in reports/access.py; this room keeps the ranges
valid and answers, cheaply, which organisation (if any) owns an address.

Rules for a range (`network_parse`):
- CIDR, IPv4 or IPv6, normalised with `ipaddress.ip_network(value, strict=False)`: host bits
  are cleared, so `203.0.113.7/24` is stored as `203.0.113.0/24` (the form says so). An
  address without a prefix is one host (/32, /128).
- At most a /16 in IPv4 (65,536 addresses) and a /32 in IPv6 (an ISP's whole allocation):
  anything wider is an operator's typo, not an office, and would hand the licence to strangers.
- An IPv4-mapped IPv6 range (`::ffff:203.0.113.0/120`) is stored as the IPv4 range it is.
- No two ranges overlap, whoever owns them: an address belongs to at most one licence.

Lookups run on every anonymous page request (the page cache asks whether to step aside), so
each process keeps a sorted table of the ranges and asks the shared cache for the table's
version at most once per RECHECK_SECONDS; every change bumps the version (and clears this
process's table at once), so the other processes rebuild within that second.
"""

import bisect
import ipaddress
import logging
import os
import shlex
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError, transaction
from django.http import HttpRequest

from accounts.models import Organisation, OrganisationNetwork
from publisher.cache.generations import CACHE_ERRORS
from publisher.errors import ApplicationError
from publisher.ratelimit import client_ip

logger = logging.getLogger(__name__)

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address

WIDEST_PREFIX = {4: 16, 6: 32}
VERSION_KEY = "office-networks:version"
RECHECK_SECONDS = 1.0
# Far more than any publication's customers list: the table stays a few hundred KB.
MAX_RANGES = 20_000


def network_parse(value: str) -> Network:
    """The normalised range for `value`, or ApplicationError saying what is wrong."""
    text = value.strip()
    if not text:
        raise ApplicationError("Enter an address range, e.g. 203.0.113.0/24.")
    try:
        network: Network = ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise ApplicationError(
            f"“{text[:60]}” is not an address range: write it as CIDR, e.g. 203.0.113.0/24 "
            "or 2001:db8:4::/48."
        ) from None
    if isinstance(network, ipaddress.IPv6Network):
        mapped = network.network_address.ipv4_mapped
        if mapped is not None and network.prefixlen >= 96:
            network = ipaddress.IPv4Network((mapped, network.prefixlen - 96))
    widest = WIDEST_PREFIX[network.version]
    if network.prefixlen < widest:
        raise ApplicationError(
            f"{network} is too wide for an office: at most a /{widest} in IPv{network.version}."
        )
    if network.is_unspecified or network.is_multicast:
        raise ApplicationError(f"{network} is not a range readers can arrive from.")
    return network


def network_overlap_error(network: Network, *, exclude_pk: int | None = None) -> str | None:
    """Why `network` may not be added next to the stored ranges (an overlap), or None."""
    rows = OrganisationNetwork.objects.select_related("organisation").order_by("pk")
    if exclude_pk is not None:
        rows = rows.exclude(pk=exclude_pk)
    for row in rows[:MAX_RANGES].iterator():
        other = ipaddress.ip_network(row.cidr)
        if other.version == network.version and other.overlaps(network):
            return f"{network} overlaps {other}, already listed for {row.organisation.name}."
    return None


def organisation_network_add(
    *, organisation: Organisation, cidr: str, label: str = ""
) -> OrganisationNetwork:
    network = network_parse(cidr)
    if OrganisationNetwork.objects.count() >= MAX_RANGES:
        raise ApplicationError("No more address ranges can be listed.")
    problem = network_overlap_error(network)
    if problem:
        raise ApplicationError(problem)
    row = OrganisationNetwork.objects.create(
        organisation=organisation, cidr=str(network), label=label.strip()[:120]
    )
    office_networks_changed()
    return row


def organisation_network_remove(*, network: OrganisationNetwork) -> None:
    network.delete()
    office_networks_changed()


# Lookup --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Table:
    """Non-overlapping ranges as integer intervals, sorted by their first address."""

    version: object
    starts: dict[int, list[int]]
    rows: dict[int, list[tuple[int, int, int]]]  # (first, last, organisation id)

    def organisation_for(self, address: Address) -> int | None:
        value = int(address)
        index = bisect.bisect_right(self.starts[address.version], value) - 1
        if index < 0:
            return None
        first, last, organisation_id = self.rows[address.version][index]
        return organisation_id if first <= value <= last else None


_EMPTY = _Table(None, {4: [], 6: []}, {4: [], 6: []})
_lock = threading.Lock()
_table: _Table | None = None
_checked_at = 0.0


def _build(version: object) -> _Table:
    rows: dict[int, list[tuple[int, int, int]]] = {4: [], 6: []}
    stored = OrganisationNetwork.objects.values_list("cidr", "organisation_id")
    for cidr, organisation_id in stored[:MAX_RANGES]:
        network = ipaddress.ip_network(cidr)
        rows[network.version].append(
            (int(network.network_address), int(network.broadcast_address), organisation_id)
        )
    for entries in rows.values():
        entries.sort()
    return _Table(version, {v: [row[0] for row in rows[v]] for v in rows}, rows)


def _current_table() -> _Table:
    global _table, _checked_at
    now = time.monotonic()
    table = _table
    if table is not None and now - _checked_at < RECHECK_SECONDS:
        return table
    try:
        version = cache.get(VERSION_KEY)
    except CACHE_ERRORS:
        # The shared cache is down: keep what this process knows.
        if table is not None:
            return table
        version = None
    with _lock:
        if _table is None or _table.version != version:
            try:
                _table = _build(version)
            except DatabaseError:
                # PostgreSQL is down: the last table known, or none for now (asked again on
                # the next request), so the page cache keeps answering everyone else.
                logger.warning("Office networks unavailable", exc_info=True)
                return _table or _EMPTY
        _checked_at = now
        return _table


def office_networks_forget() -> None:
    """Drop this process's table (the next lookup rebuilds it from the database)."""
    global _table
    with _lock:
        _table = None


def office_networks_changed() -> None:
    """After any change to the ranges: this process forgets its table now; once the change is
    committed, every other process's table is retired and nginx learns the new ranges."""
    office_networks_forget()

    def publish() -> None:
        office_networks_forget()
        try:
            cache.set(VERSION_KEY, time.time_ns(), timeout=None)
        except CACHE_ERRORS:
            logger.warning("Office networks' version not published", exc_info=True)
        office_networks_write_nginx()

    transaction.on_commit(publish)


def parse_address(value: str | None) -> Address | None:
    if not value:
        return None
    try:
        address: Address = ipaddress.ip_address(value.strip().split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def office_organisation_id_for(address: str | None) -> int | None:
    """The organisation whose office range holds `address`, or None. No query while the
    process's table is current."""
    parsed = parse_address(address)
    if parsed is None:
        return None
    return _current_table().organisation_for(parsed)


def request_from_office_network(request: HttpRequest) -> bool:
    """Does this request come (trusted-proxy rule) from an office range? The page cache asks
    it to step aside for such requests (PAGE_CACHE_BYPASS_CHECKS)."""
    return office_organisation_id_for(client_ip(request)) is not None


@dataclass(frozen=True)
class OfficeNetwork:
    """The network facts of one request: the client address and the organisation whose
    office range holds it. What they grant is reports/access.py's decision."""

    address: str
    organisation: Organisation


def office_network_for_request(request: HttpRequest) -> OfficeNetwork | None:
    """One query when the address is in a range (the organisation's current licence state),
    none otherwise."""
    address = client_ip(request)
    organisation_id = office_organisation_id_for(address)
    if organisation_id is None or address is None:
        return None
    organisation = Organisation.objects.filter(pk=organisation_id).first()
    return OfficeNetwork(address, organisation) if organisation else None


# nginx ---------------------------------------------------------------------------------------


def nginx_geo_lines() -> str:
    """The body of nginx's `geo $gridline_office_network` block: `range 1;` per range."""
    cidrs = OrganisationNetwork.objects.order_by("cidr").values_list("cidr", flat=True)
    lines = [f"{cidr} 1;" for cidr in cidrs[:MAX_RANGES]]
    return "# Written by the application (accounts/organisations/networks.py).\n" + "".join(
        f"{line}\n" for line in lines
    )


def office_networks_write_nginx(*, reload: bool = True) -> bool:
    """Write OFFICE_NETWORKS_NGINX_FILE and run OFFICE_NETWORKS_NGINX_RELOAD, when set.

    nginx must skip its shared cache for a reader from an office range on their very first
    request (no cookie yet), which only nginx itself can tell from the peer address: the file
    feeds its `geo` block (deploy/nginx-app.conf). Returns whether a file was written."""
    path = settings.OFFICE_NETWORKS_NGINX_FILE
    if not path:
        return False
    target = Path(path)
    temporary = target.with_name(f".{target.name}.{os.getpid()}")
    temporary.write_text(nginx_geo_lines())
    temporary.chmod(0o644)
    temporary.replace(target)  # nginx never reads half a file
    if reload and settings.OFFICE_NETWORKS_NGINX_RELOAD:
        # The operator's own command from the environment, never user input.
        completed = subprocess.run(  # noqa: S603
            shlex.split(settings.OFFICE_NETWORKS_NGINX_RELOAD),
            capture_output=True,
            text=True,
            timeout=30,
        )
        if completed.returncode:
            logger.error("nginx reload after office networks failed: %s", completed.stderr)
    return True
