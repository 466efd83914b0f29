"""Settings for the test suite: production settings with a few test-only overrides.

Tests run with DEBUG off against PostgreSQL, like production. Override the database with
TEST_DATABASE_URL and the Redis used by integration tests with TEST_REDIS_URL.
"""

import os

os.environ.setdefault("DJANGO_DEBUG", "false")
os.environ.setdefault("DJANGO_SECRET_KEY", "test-only-secret-key-" + "x" * 40)
os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "testserver,localhost,127.0.0.1")
os.environ.setdefault(
    "DATABASE_URL",
    os.environ.get("TEST_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/publisher"),
)
# One database for the suite: a replica alias would be a second connection to it, outside
# each test's transaction. The replica's own tests bring a real standby
# (tests/support/replication.py).
os.environ.pop("DATABASE_REPLICA_URL", None)
# Redis database 11 belongs to this project's tests; other programs may use database 0.
os.environ.setdefault("TEST_REDIS_URL", "redis://127.0.0.1:6379/11")
os.environ.setdefault("CELERY_BROKER_URL", os.environ["TEST_REDIS_URL"])
os.environ.setdefault("SITE_URL", "http://testserver")
# Tests talk to a local fake of Stripe (tests/support/stripe_fake.py); fixtures point
# STRIPE_API_BASE at it. These values are placeholders, never real keys.
os.environ.setdefault("STRIPE_SECRET_KEY", "sk_test_fake_key")
os.environ.setdefault("STRIPE_WEBHOOK_SECRET", "whsec_test_secret")
os.environ.setdefault("STRIPE_PRICE_MONTHLY", "price_monthly_test")
os.environ.setdefault("STRIPE_PRICE_ANNUAL", "price_annual_test")
os.environ.setdefault("STRIPE_PRICE_SEAT", "price_seat_test")
os.environ.setdefault("STRIPE_API_BASE", "http://127.0.0.1:9")
# Media on the local disk whatever the shell says; the storage tests point the default
# storage at a local S3-compatible server themselves (tests/support/s3.py).
os.environ.pop("MEDIA_STORAGE_URL", None)

from publisher.settings import *  # noqa: F403

SECURE_SSL_REDIRECT = False
SECURE_HSTS_SECONDS = 0
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# Tests that count point this at TEST_REDIS_URL (the `counting` fixture).
COUNTING_REDIS_URL = ""
MAILERS = {"default": suppressing({"BACKEND": "django.core.mail.backends.locmem.EmailBackend"})}  # noqa: F405
CELERY_TASK_ALWAYS_EAGER = os.environ.get("CELERY_TASK_ALWAYS_EAGER", "true") == "true"
STORAGES = {
    **STORAGES,  # noqa: F405
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Serve static files from the source folders, so tests need no collectstatic.
WHITENOISE_AUTOREFRESH = True
WHITENOISE_USE_FINDERS = True

# Integration tests start real workers with their own queue, SMTP sink and retry pace.
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("TEST_CELERY_QUEUE", "celery")
if os.environ.get("TEST_EMAIL_URL"):
    MAILERS = {"default": suppressing(mailer_from_url("TEST_EMAIL_URL", default="locmem://"))}  # noqa: F405
# The providers' webhook credentials the tests sign and authenticate with.
ANYMAIL = {
    "WEBHOOK_SECRET": "hook-user:hook-password",
    "MAILGUN_WEBHOOK_SIGNING_KEY": "key-test-mailgun-signing",
    "RESEND_SIGNING_SECRET": "whsec_" + "dGVzdC1yZXNlbmQtc2lnbmluZy1zZWNyZXQ=",
}
NOTIFY_RETRY_BACKOFF = 1
NOTIFY_RETRY_BACKOFF_MAX = 4
