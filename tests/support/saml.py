"""SAML single sign-on fixtures: pysaml2's identity provider (tests/support/saml_idp/) in a
second process, and an organisation whose identity provider it is.

The order is the one an administrator follows: the service is configured with the provider's
address and certificate, the provider is given the service's metadata (fetched from our own
/accounts/saml/<slug>/metadata/), then it starts."""

import datetime as dt
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from django.utils import timezone

from tests.support.integration_fixtures import free_port
from tests.support.sso import answers
from tests.support.waiting import wait_until

ROOT = Path(__file__).resolve().parents[2]
SAML_CLIENT_ID = "globex"
SAML_READERS_GROUP = "research-readers"
SAML_PASSWORD = "saml-idp-password-for-tests"


def _key_and_certificate() -> tuple[str, str]:
    """An RSA key and a self-signed certificate for it, as an identity provider signs with."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Globex sign-in")])
    now = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now).not_valid_after(now + timedelta(days=365 * 30))
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return key_pem, certificate.public_bytes(serialization.Encoding.PEM).decode()


@pytest.fixture(scope="session")
def saml_keys() -> dict[str, str]:
    key, cert = _key_and_certificate()
    foreign_key, foreign_cert = _key_and_certificate()
    return {
        "key.pem": key, "cert.pem": cert,
        "foreign-key.pem": foreign_key, "foreign-cert.pem": foreign_cert,
    }  # fmt: skip


@dataclass
class SamlIdentityProvider:
    url: str
    directory: Path
    certificate: str
    process: subprocess.Popen | None = field(default=None, repr=False)

    @property
    def log(self) -> str:
        path = self.directory / "log"
        return path.read_text() if path.exists() else ""

    def add_user(self, email: str, *groups: str) -> None:
        path = self.directory / "users.json"
        users = json.loads(path.read_text()) if path.exists() else {}
        users[email] = {"password": SAML_PASSWORD, "groups": list(groups)}
        path.write_text(json.dumps(users))

    def set_groups(self, email: str, *groups: str) -> None:
        self.add_user(email, *groups)

    def misbehave(self, mode: str) -> None:
        """The next responses are wrong in this way (tests/support/saml_idp/__init__.py)."""
        (self.directory / "mode").write_text(mode)

    def start(self, service_metadata: str) -> None:
        (self.directory / "sp.xml").write_text(service_metadata)
        port = self.url.rsplit(":", 1)[1]
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")},
            "SAML_IDP_DIR": str(self.directory), "SAML_IDP_CLOCK": str(time.time()),
            "PYTHONPATH": str(ROOT),
        }  # fmt: skip
        with (self.directory / "log").open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "tests.support.saml_idp.serve", port],
                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
        wait_until(
            lambda: answers(f"{self.url}/metadata") or self.process.poll() is not None,
            timeout=30,
            message=lambda: f"the SAML identity provider to answer ({self.log})",
        )
        assert self.process.poll() is None, self.log

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)


@pytest.fixture
def saml_identity_provider(saml_keys, tmp_path) -> Iterator[SamlIdentityProvider]:
    directory = tmp_path / "saml-idp"
    directory.mkdir()
    for name, pem in saml_keys.items():
        (directory / name).write_text(pem)
    provider = SamlIdentityProvider(
        url=f"http://127.0.0.1:{free_port()}", directory=directory,
        certificate=saml_keys["cert.pem"],
    )  # fmt: skip
    try:
        yield provider
    finally:
        provider.stop()


@pytest.fixture
def saml_organisation(saml_identity_provider, live_server, transactional_db, settings):
    """Globex Corporation: a paid licence of two seats for globex.example, whose people sign
    in through its SAML identity provider and must be in its research-readers group."""
    from allauth.socialaccount.models import SocialApp

    from accounts.models import Organisation

    settings.ACCOUNT_DEFAULT_HTTP_PROTOCOL = "http"
    # Our entity ID is on SITE_URL.
    settings.SITE_URL = live_server.url
    idp = saml_identity_provider
    app = SocialApp.objects.create(
        provider="saml", provider_id="globex", name="Globex Corporation",
        client_id=SAML_CLIENT_ID,
        settings={
            "idp": {"entity_id": f"{idp.url}/metadata", "sso_url": f"{idp.url}/sso",
                    "x509cert": idp.certificate},
            "attribute_mapping": {
                "email": "urn:oid:0.9.2342.19200300.100.1.3",
                "first_name": "urn:oid:2.5.4.42",
            },
        },
    )  # fmt: skip
    organisation = Organisation.objects.create(
        name="Globex Corporation", slug="globex", seats=2, status="active",
        current_period_end=timezone.now() + timedelta(days=300),
        join_domains="globex.example", sso_app=app, sso_required=True,
        sso_group=SAML_READERS_GROUP,
    )  # fmt: skip
    metadata = requests.get(
        f"{live_server.url}/accounts/saml/{SAML_CLIENT_ID}/metadata/", timeout=10
    )
    assert metadata.status_code == 200, metadata.text
    idp.start(metadata.text)
    return organisation
