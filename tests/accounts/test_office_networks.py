"""Organisations' office networks: what a range may be, the lookup every request makes, the
admin's inline, the team page and the file nginx's geo block reads."""

import ipaddress
import re
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import Organisation, OrganisationMember, OrganisationNetwork
from accounts.organisations.networks import (
    network_parse,
    office_networks_forget,
    office_networks_write_nginx,
    office_organisation_id_for,
    organisation_network_add,
    organisation_network_remove,
)
from publisher.errors import ApplicationError
from tests.support.factories import UserFactory


@pytest.fixture(autouse=True)
def _fresh_table():
    """Each process keeps the ranges in memory; a test's rolled-back rows must not outlive it."""
    office_networks_forget()
    yield
    office_networks_forget()


def _organisation(name: str = "Acme Cooling", **fields) -> Organisation:
    return Organisation.objects.create(
        name=name,
        status="active",
        current_period_end=timezone.now() + timedelta(days=30),
        seats=5,
        **fields,
    )


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("203.0.113.0/24", "203.0.113.0/24"),
        (" 203.0.113.77/24 ", "203.0.113.0/24"),  # host bits cleared, not refused
        ("203.0.113.9", "203.0.113.9/32"),
        ("198.51.0.0/16", "198.51.0.0/16"),
        ("2001:db8:4::/48", "2001:db8:4::/48"),
        ("2001:DB8:4:0:0:0:0:1/48", "2001:db8:4::/48"),
        ("2001:db8::/32", "2001:db8::/32"),
        ("::ffff:203.0.113.0/120", "203.0.113.0/24"),  # IPv4-mapped: stored as IPv4
    ],
)
def test_ranges_are_normalised(given, stored):
    assert str(network_parse(given)) == stored


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ("", "Enter an address range"),
        ("acme office", "is not an address range"),
        ("203.0.113.0/33", "is not an address range"),
        ("10.0.0.0/8", "too wide for an office: at most a /16 in IPv4"),
        ("0.0.0.0/0", "too wide"),
        ("2001:db8::/31", "at most a /32 in IPv6"),
        ("::/0", "too wide"),
        ("224.0.0.0/24", "not a range readers can arrive from"),
    ],
)
def test_nonsense_and_too_wide_ranges_are_refused_with_a_reason(given, message):
    with pytest.raises(ApplicationError, match=message):
        network_parse(given)


@pytest.mark.django_db
def test_overlapping_ranges_are_refused_whoever_owns_them():
    acme, other = _organisation(), _organisation("Other Thermal")
    organisation_network_add(organisation=acme, cidr="203.0.113.0/24", label="London")

    for organisation, cidr in [(other, "203.0.113.128/25"), (other, "203.0.0.0/16"),
                               (acme, "203.0.113.7")]:  # fmt: skip
        overlap = re.escape("overlaps 203.0.113.0/24, already listed")
        with pytest.raises(ApplicationError, match=overlap):
            organisation_network_add(organisation=organisation, cidr=cidr)
    organisation_network_add(organisation=other, cidr="203.0.114.0/24")
    assert OrganisationNetwork.objects.count() == 2


@pytest.mark.django_db
def test_lookup_finds_the_owner_of_an_address_and_nobody_for_its_neighbours():
    acme, other = _organisation(), _organisation("Other Thermal")
    organisation_network_add(organisation=acme, cidr="203.0.113.0/24")
    organisation_network_add(organisation=acme, cidr="2001:db8:4::/48")
    organisation_network_add(organisation=other, cidr="198.51.100.7/32")

    assert office_organisation_id_for("203.0.113.0") == acme.pk
    assert office_organisation_id_for("203.0.113.255") == acme.pk
    assert office_organisation_id_for("::ffff:203.0.113.40") == acme.pk
    assert office_organisation_id_for("2001:db8:4:ffff::1") == acme.pk
    assert office_organisation_id_for("198.51.100.7") == other.pk
    for neighbour in ["203.0.112.255", "203.0.114.0", "198.51.100.6", "198.51.100.8",
                      "2001:db8:5::1", "2001:db8:3:ffff:ffff:ffff:ffff:ffff", "",
                      None, "not-an-address", "127.0.0.1"]:  # fmt: skip
        assert office_organisation_id_for(neighbour) is None, neighbour


@pytest.mark.django_db
def test_lookups_are_answered_from_memory_and_a_change_is_seen_at_once(
    django_assert_num_queries,
):
    acme = _organisation()
    network = organisation_network_add(organisation=acme, cidr="203.0.113.0/24")
    assert office_organisation_id_for("203.0.113.5") == acme.pk

    with django_assert_num_queries(0):
        for host in range(200):
            office_organisation_id_for(f"203.0.113.{host}")
            office_organisation_id_for(f"198.51.100.{host}")

    organisation_network_remove(network=network)
    assert office_organisation_id_for("203.0.113.5") is None


@pytest.mark.django_db
def test_staff_edit_ranges_inline_on_the_organisation_and_bad_ones_change_nothing(
    client, django_capture_on_commit_callbacks
):
    acme, other = _organisation(), _organisation("Other Thermal")
    OrganisationNetwork.objects.create(organisation=other, cidr="198.51.100.0/24")
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    url = f"/admin/accounts/organisation/{acme.pk}/change/"
    page = client.get(url)
    assert page.status_code == 200 and "Office networks" in page.content.decode()

    def post(*cidrs: str):
        form = {
            "name": acme.name, "join_domains": "", "networks-TOTAL_FORMS": str(len(cidrs)),
            "networks-INITIAL_FORMS": "0", "networks-MIN_NUM_FORMS": "0",
            "networks-MAX_NUM_FORMS": "1000",
        }  # fmt: skip
        for index, cidr in enumerate(cidrs):
            form[f"networks-{index}-cidr"] = cidr
            form[f"networks-{index}-label"] = f"Office {index}"
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(url, form)

    refused = post("203.0.113.0/24", "10.0.0.0/8", "198.51.100.9", "203.0.113.64/26")
    text = refused.content.decode()
    assert refused.status_code == 200
    assert "at most a /16 in IPv4" in text
    assert "already listed for Other Thermal" in text
    assert "203.0.113.64/26 overlaps 203.0.113.0/24, listed above" in text
    assert not acme.networks.exists()

    assert post("203.0.113.77/24", "2001:db8:4::/48").status_code == 302
    assert sorted(acme.networks.values_list("cidr", flat=True)) == [
        "2001:db8:4::/48", "203.0.113.0/24",
    ]  # fmt: skip
    assert office_organisation_id_for("203.0.113.1") == acme.pk


@pytest.mark.django_db
def test_the_team_page_shows_its_admins_the_office_networks(client):
    acme = _organisation()
    admin = UserFactory()
    OrganisationMember.objects.create(organisation=acme, user=admin, is_admin=True)
    organisation_network_add(organisation=acme, cidr="203.0.113.0/24", label="London office")
    client.force_login(admin)

    text = client.get("/team/").content.decode()

    assert "Office networks" in text
    assert "203.0.113.0/24" in text and "London office" in text


@pytest.mark.django_db
def test_nginx_gets_every_range_in_its_geo_file_on_each_change(
    tmp_path, settings, django_capture_on_commit_callbacks
):
    target = tmp_path / "office-networks.conf"
    touched = tmp_path / "reloaded"
    settings.OFFICE_NETWORKS_NGINX_FILE = str(target)
    settings.OFFICE_NETWORKS_NGINX_RELOAD = f"touch {touched}"
    acme = _organisation()

    with django_capture_on_commit_callbacks(execute=True):
        organisation_network_add(organisation=acme, cidr="203.0.113.0/24")
        organisation_network_add(organisation=acme, cidr="2001:db8:4::/48")

    lines = [line for line in target.read_text().splitlines() if not line.startswith("#")]
    assert lines == ["2001:db8:4::/48 1;", "203.0.113.0/24 1;"]
    assert all(ipaddress.ip_network(line.split()[0]) for line in lines)
    assert touched.exists()

    settings.OFFICE_NETWORKS_NGINX_FILE = ""
    assert office_networks_write_nginx() is False


@pytest.mark.django_db
def test_with_the_database_down_the_last_table_answers_and_without_one_nobody_matches(
    monkeypatch,
):
    from django.core.cache import cache
    from django.db import OperationalError

    from accounts.organisations import networks

    acme = _organisation()
    organisation_network_add(organisation=acme, cidr="203.0.113.0/24")
    assert office_organisation_id_for("203.0.113.5") == acme.pk

    def database_down(version):
        raise OperationalError("connection refused")

    monkeypatch.setattr(networks, "_build", database_down)
    monkeypatch.setattr(networks, "_checked_at", 0.0)  # as if the recheck were due
    cache.set(networks.VERSION_KEY, "changed elsewhere")  # this table is out of date
    assert office_organisation_id_for("203.0.113.5") == acme.pk
    office_networks_forget()
    assert office_organisation_id_for("203.0.113.5") is None
    cache.delete(networks.VERSION_KEY)
