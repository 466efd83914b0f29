"""Configuration comes from the environment and refuses nonsense."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from publisher.env import (
    env_bool,
    env_float,
    env_int,
    env_int_list,
    env_list,
    env_url,
    mailer_from_url,
)

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION_ENV = {
    "DJANGO_SECRET_KEY": "a-production-like-secret-" + "k" * 40,
    "DJANGO_ALLOWED_HOSTS": "research.example.com",
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/publisher",
    "REDIS_URL": "redis://127.0.0.1:6379/11",
    "SITE_URL": "https://research.example.com",
    "STRIPE_SECRET_KEY": "sk_test_placeholder",
    "STRIPE_WEBHOOK_SECRET": "whsec_placeholder",
    "STRIPE_PRICE_MONTHLY": "price_monthly",
    "STRIPE_PRICE_ANNUAL": "price_annual",
}


def _run_django(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_"))}
    clean.pop("REDIS_URL", None)
    clean.pop("CELERY_BROKER_URL", None)
    clean = {k: v for k, v in clean.items() if not k.startswith("STRIPE_")}
    clean |= {"DJANGO_SETTINGS_MODULE": "publisher.settings", **env}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_refuses_to_start_without_secret_key():
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != "DJANGO_SECRET_KEY"}

    result = _run_django(env, "check")

    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr
    assert "required" in result.stderr


def test_production_refuses_to_start_with_nothing_configured():
    result = _run_django({}, "check")

    assert result.returncode != 0
    for name in [
        "DJANGO_SECRET_KEY", "DJANGO_ALLOWED_HOSTS", "DATABASE_URL", "REDIS_URL",
        "STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET", "STRIPE_PRICE_MONTHLY",
    ]:  # fmt: skip
        assert name in result.stderr


def test_production_refuses_a_short_secret_key():
    result = _run_django({**PRODUCTION_ENV, "DJANGO_SECRET_KEY": "short"}, "check")

    assert result.returncode != 0
    assert "at least 50 characters" in result.stderr


def test_debug_flag_that_is_not_a_boolean_is_an_error():
    result = _run_django({**PRODUCTION_ENV, "DJANGO_DEBUG": "yes"}, "check")

    assert result.returncode != 0
    assert "DJANGO_DEBUG='yes' is not a boolean" in result.stderr


@pytest.mark.parametrize(
    ("value", "message"), [("29.00", "not a whole number"), ("0", "at least 1")]
)
def test_a_price_in_cents_that_is_not_a_positive_whole_number_is_an_error(value, message):
    result = _run_django({**PRODUCTION_ENV, "PRICE_MONTHLY_CENTS": value}, "check")

    assert result.returncode != 0
    assert "PRICE_MONTHLY_CENTS" in result.stderr and message in result.stderr


def test_deploy_check_is_clean_for_production_settings():
    result = _run_django(PRODUCTION_ENV, "check", "--deploy", "--fail-level", "WARNING")

    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_a_seat_cheaper_than_the_annual_plan_fails_the_release_check():
    result = _run_django({**PRODUCTION_ENV, "PRICE_SEAT_CENTS": "24000"}, "check", "--deploy")

    assert result.returncode != 0
    assert "accounts.E002" in result.stderr
    assert "a team seat would cost less than an individual annual plan" in result.stderr


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("TEAM_MIN_SEATS", "0", "TEAM_MIN_SEATS=0 must be at least 1."),
        ("PRICE_SEAT_CENTS", "290.00", "PRICE_SEAT_CENTS='290.00' is not a whole number."),
    ],
)
def test_team_price_settings_refuse_nonsense(name, value, message):
    result = _run_django({**PRODUCTION_ENV, name: value}, "check")

    assert result.returncode != 0
    assert message in result.stderr


def test_local_development_needs_no_configuration():
    result = _run_django({"DJANGO_DEBUG": "true"}, "check")

    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(("raw", "expected"), [("true", True), ("0", False), ("On", True)])
def test_env_bool_accepts_clear_values(monkeypatch, raw, expected):
    monkeypatch.setenv("FLAG", raw)
    assert env_bool("FLAG", default=not expected) is expected


@pytest.mark.parametrize("raw", ["yes", "no", "2", "truthy"])
def test_env_bool_rejects_everything_else(monkeypatch, raw):
    monkeypatch.setenv("FLAG", raw)
    with pytest.raises(ImproperlyConfigured, match="FLAG"):
        env_bool("FLAG", default=False)


def test_env_int_rejects_words_and_values_below_minimum(monkeypatch):
    monkeypatch.setenv("NUMBER", "ten")
    with pytest.raises(ImproperlyConfigured, match="not a whole number"):
        env_int("NUMBER", default=1)
    monkeypatch.setenv("NUMBER", "-3")
    with pytest.raises(ImproperlyConfigured, match="at least 0"):
        env_int("NUMBER", default=1, minimum=0)


def test_env_int_rejects_values_above_maximum(monkeypatch):
    monkeypatch.setenv("NUMBER", "731")
    with pytest.raises(ImproperlyConfigured, match="at most 730"):
        env_int("NUMBER", default=0, minimum=0, maximum=730)
    monkeypatch.setenv("NUMBER", "730")
    assert env_int("NUMBER", default=0, minimum=0, maximum=730) == 730


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("STRIPE_TRIAL_DAYS", "two weeks", "not a whole number"),
        ("STRIPE_TRIAL_DAYS", "1000", "at most 730"),
        ("STRIPE_TRIAL_REQUIRES_CARD", "yes", "not a boolean"),
        ("STRIPE_AUTOMATIC_TAX", "maybe", "not a boolean"),
    ],
)
def test_checkout_offer_settings_refuse_nonsense_at_start_up(name, value, message):
    result = _run_django({**PRODUCTION_ENV, name: value}, "check")

    assert result.returncode != 0
    assert name in result.stderr
    assert message in result.stderr


@pytest.mark.parametrize(
    ("value", "message"),
    [("14,thirty", "'thirty' is not a whole number"), ("0,30", "0 must be from 1 to 365"),
     ("400", "400 must be from 1 to 365"), (" , ", "names no number")],
)  # fmt: skip
def test_invoice_terms_refuse_nonsense_at_start_up(value, message):
    result = _run_django({**PRODUCTION_ENV, "INVOICE_NET_TERMS": value}, "check")

    assert result.returncode != 0
    assert "INVOICE_NET_TERMS" in result.stderr
    assert message in result.stderr


def test_env_int_list_reads_terms_and_keeps_the_default_when_unset(monkeypatch):
    monkeypatch.delenv("TERMS", raising=False)
    assert env_int_list("TERMS", default=[14, 30]) == [14, 30]
    monkeypatch.setenv("TERMS", " 7, 45 ")
    assert env_int_list("TERMS", default=[14], minimum=1, maximum=365) == [7, 45]


def test_the_default_invoice_terms_are_always_offered():
    from publisher import settings as production

    assert production.INVOICE_NET_TERMS_DEFAULT in production.INVOICE_NET_TERMS
    assert production.INVOICE_NET_TERMS == [14, 30, 60]


def test_env_list_splits_and_trims(monkeypatch):
    monkeypatch.setenv("HOSTS", " a.example.com, ,b.example.com ")
    assert env_list("HOSTS") == ["a.example.com", "b.example.com"]


def test_env_url_checks_scheme_and_host(monkeypatch):
    monkeypatch.setenv("SOME_URL", "mysql://db/x")
    with pytest.raises(ImproperlyConfigured, match="must start with"):
        env_url("SOME_URL", schemes={"postgres"})
    monkeypatch.setenv("SOME_URL", "redis://")
    with pytest.raises(ImproperlyConfigured, match="no host"):
        env_url("SOME_URL", schemes={"redis"})


def test_email_url_builds_smtp_mailer(monkeypatch):
    monkeypatch.setenv("EMAIL_URL", "smtp://mailer%40example.com:p%40ss@smtp.example.com:587")

    mailer = mailer_from_url("EMAIL_URL", default="console://")

    assert mailer["BACKEND"] == "publisher.mail.smtp.EmailBackend"
    assert mailer["OPTIONS"] | {} == {
        "host": "smtp.example.com",
        "port": 587,
        "username": "mailer@example.com",
        "password": "p@ss",
        "use_tls": True,
        "use_ssl": False,
        "timeout": 20,
    }


def test_email_url_rejects_unknown_scheme(monkeypatch):
    monkeypatch.setenv("EMAIL_URL", "ftp://mail.example.com")
    with pytest.raises(ImproperlyConfigured, match="EMAIL_URL"):
        mailer_from_url("EMAIL_URL", default="console://")


def test_env_float_reads_a_share_and_rejects_words_and_values_out_of_bounds(monkeypatch):
    assert env_float("SHARE", default=0.0, minimum=0.0, maximum=1.0) == 0.0
    monkeypatch.setenv("SHARE", "0.25")
    assert env_float("SHARE", default=0.0, minimum=0.0, maximum=1.0) == 0.25
    monkeypatch.setenv("SHARE", "a quarter")
    with pytest.raises(ImproperlyConfigured, match="not a number"):
        env_float("SHARE", default=0.0, minimum=0.0, maximum=1.0)
    monkeypatch.setenv("SHARE", "1.5")
    with pytest.raises(ImproperlyConfigured, match=r"from 0\.0 to 1\.0"):
        env_float("SHARE", default=0.0, minimum=0.0, maximum=1.0)
