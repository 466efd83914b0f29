"""Single sign-on fixtures: allauth's OpenID Connect provider (tests/support/oidc_idp/) in a
second Django process with its own SQLite database, and an organisation whose identity
provider it is.

The provider is migrated once per session into a template database; each test copies it
and starts its own server on a free port, with its clock at the test's clock."""

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.utils import timezone

from tests.support.integration_fixtures import free_port
from tests.support.waiting import wait_until

ROOT = Path(__file__).resolve().parents[2]
CLIENT_ID = "gridline-research"
CLIENT_SECRET = "test-only-client-secret"
PROVIDER_ID = "acme"
READERS_GROUP = "research-readers"
IDP_PASSWORD = "idp-password-for-tests"


def _private_key_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


@dataclass
class IdentityProvider:
    url: str
    env: dict[str, str]
    log: Path
    process: subprocess.Popen | None = field(default=None, repr=False)

    def control(self, *args: str) -> None:
        subprocess.run(
            [sys.executable, "-m", "tests.support.oidc_idp.control", *args],
            cwd=ROOT, env=self.env, check=True, capture_output=True, timeout=60,
        )  # fmt: skip

    def add_user(self, email: str, *groups: str) -> None:
        self.control("user", email, IDP_PASSWORD, *groups)

    def set_groups(self, email: str, *groups: str) -> None:
        self.control("groups", email, *groups)

    def misbehave(self, mode: str) -> None:
        """The next ID tokens are wrong in this way (tests/support/oidc_idp/adapter.py)."""
        Path(self.env["IDP_MODE_FILE"]).write_text(mode)


def _idp_env(directory: Path, keys: tuple[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    return {
        **env,
        "DJANGO_SETTINGS_MODULE": "tests.support.oidc_idp.settings",
        "IDP_DATABASE": str(directory / "idp.sqlite3"),
        "IDP_MODE_FILE": str(directory / "mode"),
        "IDP_PRIVATE_KEY": keys[0],
        "IDP_FOREIGN_PRIVATE_KEY": keys[1],
        "PYTHONPATH": str(ROOT),
    }


@pytest.fixture(scope="session")
def idp_template(tmp_path_factory) -> tuple[Path, tuple[str, str]]:
    directory = tmp_path_factory.mktemp("idp-template")
    keys = (_private_key_pem(), _private_key_pem())
    subprocess.run(
        [sys.executable, "-m", "django", "migrate", "--noinput", "-v", "0"],
        cwd=ROOT, env=_idp_env(directory, keys), check=True, timeout=300,
    )  # fmt: skip
    return directory / "idp.sqlite3", keys


def answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.ConnectionError:
        return False


@pytest.fixture
def identity_provider(idp_template, tmp_path, live_server) -> Iterator[IdentityProvider]:
    """allauth's OpenID Connect provider, with our live server registered as its client."""
    template, keys = idp_template
    directory = tmp_path / "idp"
    directory.mkdir()
    shutil.copy(template, directory / "idp.sqlite3")
    port = free_port()
    env = {**_idp_env(directory, keys), "IDP_CLOCK": str(time.time())}
    provider = IdentityProvider(url=f"http://127.0.0.1:{port}", env=env, log=directory / "log")
    provider.control(
        "client", CLIENT_ID, CLIENT_SECRET,
        f"{live_server.url}/accounts/oidc/{PROVIDER_ID}/login/callback/",
    )  # fmt: skip
    with provider.log.open("wb") as log:
        provider.process = subprocess.Popen(
            [sys.executable, "-m", "tests.support.oidc_idp.serve", str(port)],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        wait_until(
            lambda: answers(f"{provider.url}/.well-known/openid-configuration"),
            timeout=30,
            message=lambda: f"the identity provider to answer ({provider.log.read_text()})",
        )
        yield provider
    finally:
        provider.process.terminate()
        provider.process.wait(timeout=10)


@pytest.fixture
def sso_organisation(identity_provider, db, settings):
    """Acme Integrators: a paid licence of two seats for acme.example, whose people sign in
    through the identity provider and must be in its research-readers group."""
    from allauth.socialaccount.models import SocialApp

    from accounts.models import Organisation

    # The live server speaks plain HTTP; production's callback addresses are https.
    settings.ACCOUNT_DEFAULT_HTTP_PROTOCOL = "http"
    app = SocialApp.objects.create(
        provider="openid_connect", provider_id=PROVIDER_ID, name="Acme Integrators",
        client_id=CLIENT_ID, secret=CLIENT_SECRET,
        settings={"server_url": identity_provider.url},
    )  # fmt: skip
    return Organisation.objects.create(
        name="Acme Integrators", slug="acme", seats=2, status="active",
        current_period_end=timezone.now() + timedelta(days=300),
        join_domains="acme.example", sso_app=app, sso_required=True, sso_group=READERS_GROUP,
    )  # fmt: skip
