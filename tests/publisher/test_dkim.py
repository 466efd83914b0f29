"""With a DKIM key configured, every message the SMTP mailer sends, bulk notifications on the
short path and transactional mail on Django's, arrives signed (rsa-sha256, relaxed/relaxed)
over the headers a receiver must trust, RFC 8058's List-Unsubscribe pair among them: dkimpy's
verifier accepts the bytes the server received, and refuses them once the Subject is altered.
Without a key nothing is signed; a key that cannot sign stops startup with a message that
never shows the key."""

import io
import re
import subprocess

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from django.core.checks import run_checks
from django.core.exceptions import ImproperlyConfigured
from django.core.mail import EmailMessage
from django.core.management import CommandError, call_command

from publisher.env import mailer_from_url
from publisher.mail.messages import email_build
from publisher.mail.signing import configured_signer, dns_record
from publisher.mail.smtp import EmailBackend
from tests.support.notification_messages import notification_message

SELECTOR = "gridline2026"
DOMAIN = "gridline.test"


def _pem(key) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


@pytest.fixture(scope="module")
def rsa_pem() -> str:
    return _pem(rsa.generate_private_key(public_exponent=65537, key_size=2048))


@pytest.fixture
def signing(settings, rsa_pem):
    settings.DKIM_PRIVATE_KEY = rsa_pem
    settings.DKIM_SELECTOR = SELECTOR
    settings.DKIM_DOMAIN = DOMAIN
    settings.DEFAULT_FROM_EMAIL = f"Gridline Research <reports@{DOMAIN}>"
    signer = configured_signer()
    assert signer is not None
    return signer


def _verifies(raw: bytes, signer) -> bool:
    record = dns_record(signer).encode()

    def dns(name: bytes, timeout: int = 5) -> bytes | None:
        # Only the record at the selector's name exists, as in DNS.
        return record if name == f"{SELECTOR}._domainkey.{DOMAIN}.".encode() else None

    return dkim.verify(raw, dnsfunc=dns)


def _signature_tags(raw: bytes) -> dict[str, str]:
    header = re.search(rb"^DKIM-Signature:(.*?)\r\n(?! )", raw, re.S | re.M)
    assert header is not None
    unfolded = re.sub(r"\s+", "", header.group(1).decode())
    return dict(tag.split("=", 1) for tag in unfolded.split(";") if tag)


def _notification(to: str):
    return notification_message(
        to,
        site="https://gridline.test",
        teaser_html="<p>Teaser with a line\n.starting with a dot</p>",
    )


def _send(sink, message) -> bytes:
    backend = EmailBackend(alias="sink", host="127.0.0.1", port=sink.port, timeout=5)
    assert backend.send_messages([message]) == 1
    return sink.messages[-1][1]


@pytest.mark.integration
def test_a_notification_arrives_signed_over_the_list_headers(smtp_sink, signing):
    received = _send(smtp_sink, _notification("reader@example.com"))

    assert _verifies(received, signing)
    tags = _signature_tags(received)
    assert (tags["a"], tags["c"], tags["d"], tags["s"]) == (
        "rsa-sha256", "relaxed/relaxed", DOMAIN, SELECTOR,
    )  # fmt: skip
    assert tags["h"].split(":") == [
        "from", "to", "subject", "date", "message-id", "mime-version", "content-type",
        "list-unsubscribe", "list-unsubscribe-post",
    ]  # fmt: skip


@pytest.mark.integration
def test_a_transactional_email_arrives_signed(smtp_sink, signing, settings):
    message = email_build(
        name="newsletter-confirm",
        to="Réader <reader@example.com>",
        context={"confirm_url": "https://gridline.test/confirm/tok/", "email": "é@example.com"},
        headers={"Auto-Submitted": "auto-generated"},
    )
    message.subject = "Bestätigen Sie — a subject long enough to be folded by the generator"
    settings.MAILERS = {"default": mailer_from_url("SINK_URL", default=smtp_sink.url)}

    assert message.send() == 1  # through the configured mailer, as the apps send
    received = smtp_sink.messages[-1][1]

    assert _verifies(received, signing)
    signed = _signature_tags(received)["h"].split(":")
    assert signed[:1] == ["from"]
    assert {"to", "subject", "date", "message-id", "mime-version", "content-type"} <= set(signed)
    assert "list-unsubscribe" not in signed  # not a list message: only headers present


@pytest.mark.integration
def test_an_altered_subject_or_unsubscribe_link_fails_verification(smtp_sink, signing):
    received = _send(smtp_sink, _notification("reader@example.com"))

    subject = re.search(rb"^Subject: [^\r]*", received, re.M)
    assert subject is not None
    assert not _verifies(received.replace(subject.group(), subject.group() + b" (edited)"), signing)
    assert not _verifies(received.replace(b"/unsubscribe/tok/>", b"/elsewhere/>"), signing)


@pytest.mark.integration
def test_without_a_key_nothing_is_signed(smtp_sink, settings):
    settings.DKIM_PRIVATE_KEY = ""
    settings.DKIM_SELECTOR = ""

    assert b"DKIM-Signature" not in _send(smtp_sink, _notification("reader@example.com"))
    other = EmailMessage("Hi", "Body", "Site <site@example.com>", ["a@example.com"])
    assert b"DKIM-Signature" not in _send(smtp_sink, other)


def test_the_domain_defaults_to_the_senders(settings, rsa_pem):
    settings.DKIM_PRIVATE_KEY = rsa_pem
    settings.DKIM_SELECTOR = SELECTOR
    settings.DKIM_DOMAIN = ""
    settings.DEFAULT_FROM_EMAIL = "Gridline Research <reports@mail.gridline.test>"

    signer = configured_signer()

    assert signer is not None and signer.domain == "mail.gridline.test"


def test_a_key_on_one_line_with_literal_newlines_is_read(settings, rsa_pem):
    settings.DKIM_PRIVATE_KEY = rsa_pem.strip().replace("\n", "\\n")
    settings.DKIM_SELECTOR = SELECTOR
    settings.DKIM_DOMAIN = DOMAIN

    assert configured_signer() is not None


def test_a_key_file_is_read(settings, rsa_pem, tmp_path):
    key_file = tmp_path / "dkim.pem"
    key_file.write_text(rsa_pem)
    settings.DKIM_PRIVATE_KEY_FILE = str(key_file)
    settings.DKIM_SELECTOR = SELECTOR
    settings.DKIM_DOMAIN = DOMAIN

    assert configured_signer() is not None


def _ec_pem() -> str:
    return _pem(ec.generate_private_key(ec.SECP256R1()))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"DKIM_PRIVATE_KEY": "-----BEGIN PRIVATE KEY-----\nc2VjcmV0\n-----END PRIVATE KEY-----"},
         "DKIM_PRIVATE_KEY is not an unencrypted PEM private key"),
        ({"DKIM_PRIVATE_KEY": _ec_pem()}, "is not an RSA key"),
        ({"DKIM_SELECTOR": "bad selector"}, "DKIM_SELECTOR='bad selector' is not a DNS label"),
        ({"DKIM_SELECTOR": ""}, "DKIM_SELECTOR='' is not a DNS label"),
        ({"DKIM_DOMAIN": "localhost"}, "is not a domain name"),
        ({"DKIM_PRIVATE_KEY": "", "DKIM_PRIVATE_KEY_FILE": "/nonexistent/dkim.pem"},
         "DKIM_PRIVATE_KEY_FILE='/nonexistent/dkim.pem' cannot be read"),
        ({"DKIM_PRIVATE_KEY_FILE": "/etc/hostname"}, "not both"),
        ({"DKIM_PRIVATE_KEY": ""}, "DKIM_SELECTOR is set but no DKIM_PRIVATE_KEY"),
    ],
    ids=["garbage", "not-rsa", "selector", "no-selector", "domain", "no-file", "both", "no-key"],
)  # fmt: skip
def test_a_configuration_that_cannot_sign_is_a_clear_startup_error(
    settings, rsa_pem, changes, message
):
    settings.DKIM_PRIVATE_KEY = rsa_pem
    settings.DKIM_SELECTOR = SELECTOR
    settings.DKIM_DOMAIN = DOMAIN
    for name, value in changes.items():
        setattr(settings, name, value)

    errors = [error for error in run_checks() if error.id == "publisher_mail.E001"]

    assert len(errors) == 1 and message in errors[0].msg
    for secret in ("c2VjcmV0", rsa_pem.splitlines()[1], settings.DKIM_PRIVATE_KEY[40:80]):
        assert not secret or secret not in errors[0].msg
    with pytest.raises(ImproperlyConfigured):
        EmailBackend(alias="sink", host="127.0.0.1", port=25)


def test_the_release_check_refuses_a_key_that_cannot_sign_without_showing_it():
    from tests.publisher.test_settings import PRODUCTION_ENV, _run_django

    secret = "-----BEGIN PRIVATE KEY-----\\nbm90IGEga2V5IGF0IGFsbA==\\n-----END PRIVATE KEY-----"
    result = _run_django(
        {
            **PRODUCTION_ENV,
            "DEFAULT_FROM_EMAIL": "Gridline Research <reports@research.example.com>",
            "DKIM_PRIVATE_KEY": secret,
            "DKIM_SELECTOR": "gridline2026",
        },
        "check",
    )

    assert result.returncode != 0
    assert "publisher_mail.E001" in result.stderr
    assert "DKIM_PRIVATE_KEY is not an unencrypted PEM private key" in result.stderr
    assert "bm90IGEga2V5" not in result.stderr + result.stdout


def test_the_release_check_accepts_a_key_made_as_deploy_readme_says(tmp_path):
    from tests.publisher.test_settings import PRODUCTION_ENV, _run_django

    key_file = tmp_path / "dkim.pem"
    made = subprocess.run(
        ["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048",
         "-out", str(key_file)],
        capture_output=True, timeout=60,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr

    result = _run_django(
        {
            **PRODUCTION_ENV,
            "DEFAULT_FROM_EMAIL": "Gridline Research <reports@research.example.com>",
            "DKIM_PRIVATE_KEY_FILE": str(key_file),
            "DKIM_SELECTOR": "gridline2026",
        },
        "check",
    )

    assert result.returncode == 0, result.stderr


def test_dkim_record_prints_the_zone_line_of_the_public_key(signing):
    out = io.StringIO()

    call_command("dkim_record", stdout=out)

    name, _, _, strings = out.getvalue().strip().split(" ", 3)
    assert name == f"{SELECTOR}._domainkey.{DOMAIN}."
    parts = re.findall(r'"([^"]*)"', strings)
    assert len(parts) > 1 and all(len(part) <= 255 for part in parts)
    assert "".join(parts) == dns_record(signing)


def test_dkim_record_without_a_key_says_so(settings):
    settings.DKIM_PRIVATE_KEY = ""
    settings.DKIM_SELECTOR = ""

    with pytest.raises(CommandError, match="No DKIM key is configured"):
        call_command("dkim_record")


def test_a_key_too_short_for_receivers_is_refused(settings):
    made = subprocess.run(
        ["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:512"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    settings.DKIM_PRIVATE_KEY = made.stdout
    settings.DKIM_SELECTOR = SELECTOR
    settings.DKIM_DOMAIN = DOMAIN

    with pytest.raises(ImproperlyConfigured, match="DKIM_PRIVATE_KEY has 512 bits"):
        configured_signer()
