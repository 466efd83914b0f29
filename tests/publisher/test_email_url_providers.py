"""EMAIL_URL's provider schemes: each builds its Anymail backend's options, and every
mistake is refused with a message that names the fix."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from publisher.env import mailer_from_url


@pytest.fixture(autouse=True)
def _no_provider_environment(monkeypatch):
    for name in (
        "ANYMAIL_POSTMARK_SERVER_TOKEN",
        "ANYMAIL_POSTMARK_API_URL",
        "ANYMAIL_MAILGUN_API_KEY",
        "ANYMAIL_RESEND_API_KEY",
        "ANYMAIL_AMAZON_SES_AWS_ACCESS_KEY_ID",
        "ANYMAIL_AMAZON_SES_AWS_SECRET_ACCESS_KEY",
        "ANYMAIL_AMAZON_SES_ENDPOINT_URL",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
    ):
        monkeypatch.delenv(name, raising=False)


def _mailer(monkeypatch, url: str) -> dict:
    monkeypatch.setenv("EMAIL_URL", url)
    return mailer_from_url("EMAIL_URL", default="smtp://localhost")


@pytest.mark.parametrize(
    ("url", "backend", "options"),
    [
        (
            "postmark://server-token@",
            "publisher.mail.providers.PostmarkBackend",
            {"server_token": "server-token"},
        ),
        (
            "postmark://tok%2Fen@?api_url=http://127.0.0.1:9000/",
            "publisher.mail.providers.PostmarkBackend",
            {"server_token": "tok/en", "api_url": "http://127.0.0.1:9000/"},
        ),
        (
            "mailgun://key-1@?sender_domain=mg.example.com",
            "publisher.mail.providers.MailgunBackend",
            {"api_key": "key-1", "sender_domain": "mg.example.com"},
        ),
        (
            "mailgun://key-1@?api_url=https://api.eu.mailgun.net/v3/",
            "publisher.mail.providers.MailgunBackend",
            {"api_key": "key-1", "api_url": "https://api.eu.mailgun.net/v3/"},
        ),
        ("resend://re_1@", "publisher.mail.providers.ResendBackend", {"api_key": "re_1"}),
        (
            "ses://AKID:se%2Fcret@?region=eu-west-1&endpoint_url=http://127.0.0.1:9001",
            "publisher.mail.providers.AmazonSESBackend",
            {
                "session_params": {
                    "region_name": "eu-west-1",
                    "aws_access_key_id": "AKID",
                    "aws_secret_access_key": "se/cret",
                },
                "client_params": {"endpoint_url": "http://127.0.0.1:9001"},
            },
        ),
        (
            "ses://?region=us-east-1&configuration_set=notifications",
            "publisher.mail.providers.AmazonSESBackend",
            {
                "session_params": {"region_name": "us-east-1"},
                "client_params": {},
                "configuration_set_name": "notifications",
            },
        ),
    ],
)
def test_each_provider_scheme_builds_its_backend(monkeypatch, url, backend, options):
    assert _mailer(monkeypatch, url) == {"BACKEND": backend, "OPTIONS": options}


def test_credentials_and_endpoints_may_come_from_anymail_variables(monkeypatch):
    monkeypatch.setenv("ANYMAIL_POSTMARK_SERVER_TOKEN", "from-env")
    monkeypatch.setenv("ANYMAIL_POSTMARK_API_URL", "http://127.0.0.1:9002/")
    assert _mailer(monkeypatch, "postmark://")["OPTIONS"] == {
        "server_token": "from-env",
        "api_url": "http://127.0.0.1:9002/",
    }
    monkeypatch.setenv("ANYMAIL_AMAZON_SES_AWS_ACCESS_KEY_ID", "AKID")
    monkeypatch.setenv("ANYMAIL_AMAZON_SES_AWS_SECRET_ACCESS_KEY", "secret")
    monkeypatch.setenv("AWS_REGION", "eu-central-1")
    assert _mailer(monkeypatch, "ses://")["OPTIONS"]["session_params"] == {
        "region_name": "eu-central-1",
        "aws_access_key_id": "AKID",
        "aws_secret_access_key": "secret",
    }


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("postmark://", "no server_token for postmark.*ANYMAIL_POSTMARK_SERVER_TOKEN"),
        ("resend://", "no api_key for resend.*ANYMAIL_RESEND_API_KEY"),
        ("postmark://token@api.postmarkapp.com", "takes no host or path.*api_url"),
        ("mailgun://key@/v3", "takes no host or path"),
        ("postmark://token@?region=x", "unknown option 'region' for postmark.*known: api_url"),
        ("resend://key@?api_url=ftp://x", "api_url must start with one of http, https"),
        ("resend://key@?api_url=http://", "api_url.*has no host name"),
        ("ses://AKID@?region=eu-west-1", "both an access key id and its secret"),
        ("ses://AKID:secret@", r"no region for ses:// \(add \?region="),
        ("ses://?region=x&api_url=http://h/", "unknown option 'api_url' for ses"),
        ("sendgrid://key@", "must start with one of smtp://.*postmark://.*ses://"),
    ],
)
def test_a_bad_provider_url_is_refused_clearly(monkeypatch, url, message):
    with pytest.raises(ImproperlyConfigured, match=message):
        _mailer(monkeypatch, url)
