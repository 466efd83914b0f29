"""Settings for the publication, read from the environment.

Defaults are safe: DEBUG is off unless DJANGO_DEBUG=true, and with DEBUG off the process
refuses to start without a real secret key, allowed hosts, a database and a broker.
`make run` turns DEBUG on, which selects the embedded defaults (SQLite under var/,
local-memory cache, eager Celery, emails printed to the terminal).
"""

from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

from publisher.env import (
    cdn_purge_from_url,
    env_bool,
    env_float,
    env_int,
    env_int_list,
    env_list,
    env_str,
    env_url,
    env_url_list,
    mailer_from_url,
    media_storage_from_url,
)

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

DEBUG = env_bool("DJANGO_DEBUG", default=False)

# Only ever used with DEBUG on; production refuses to start with it.
_DEV_SECRET_KEY = "django-insecure-local-development-key-never-use-in-production-0123456789"  # noqa: S105
SECRET_KEY = env_str("DJANGO_SECRET_KEY", default=_DEV_SECRET_KEY if DEBUG else "")
ALLOWED_HOSTS = env_list(
    "DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"] if DEBUG else []
)
_EMBEDDED_DATABASE_URL = f"sqlite:///{VAR_DIR / 'db.sqlite3'}"
_DATABASE_URL = env_url(
    "DATABASE_URL",
    default=_EMBEDDED_DATABASE_URL if DEBUG else "",
    schemes={"postgres", "postgresql", "sqlite"},
)
if _DATABASE_URL == _EMBEDDED_DATABASE_URL:
    # The embedded default must work from a fresh clone, whatever command runs first.
    VAR_DIR.mkdir(exist_ok=True)
REDIS_URL = env_url("REDIS_URL", schemes={"redis", "rediss"})
CELERY_BROKER_URL = env_url("CELERY_BROKER_URL", default=REDIS_URL, schemes={"redis", "rediss"})
# Where report pages count their views until a fold moves them to the database
# (reports/counting/): by default the broker's Redis, which never evicts (the cache's may,
# and counts are data until folded). Unset, with no broker: nothing is counted.
COUNTING_REDIS_URL = env_url(
    "COUNTING_REDIS_URL", default=CELERY_BROKER_URL, schemes={"redis", "rediss"}
)

# Stripe. With no secret key (local development only) the site offers a clearly labelled
# local checkout that drives the same webhook handler; production requires real keys.
STRIPE_SECRET_KEY = env_str("STRIPE_SECRET_KEY")
STRIPE_WEBHOOK_SECRET = env_str("STRIPE_WEBHOOK_SECRET")
STRIPE_PRICE_MONTHLY = env_str("STRIPE_PRICE_MONTHLY")
STRIPE_PRICE_ANNUAL = env_str("STRIPE_PRICE_ANNUAL")
# Organisation licences are priced per seat; without a seat price the "For teams" offer is off.
STRIPE_PRICE_SEAT = env_str("STRIPE_PRICE_SEAT")
PRICE_SEAT_DISPLAY = env_str("PRICE_SEAT_DISPLAY", default="$290 per seat a year")
STRIPE_API_BASE = env_url("STRIPE_API_BASE", schemes={"http", "https"})
PRICE_MONTHLY_DISPLAY = env_str("PRICE_MONTHLY_DISPLAY", default="$29 a month")
PRICE_ANNUAL_DISPLAY = env_str("PRICE_ANNUAL_DISPLAY", default="$290 a year")
# The same prices in cents (as in Stripe), for the arithmetic the displays cannot do: what
# the annual plan saves ("two months free, save 17%") and the sums shown before buying
# (seats x the seat price). Set them with the displays. A seat is never cheaper than one
# person's annual plan (system check accounts.E002).
PRICE_MONTHLY_CENTS = env_int("PRICE_MONTHLY_CENTS", default=2900, minimum=1)
PRICE_ANNUAL_CENTS = env_int("PRICE_ANNUAL_CENTS", default=29000, minimum=1)
PRICE_SEAT_CENTS = env_int("PRICE_SEAT_CENTS", default=29000, minimum=1)
TEAM_MIN_SEATS = env_int("TEAM_MIN_SEATS", default=3, minimum=1)
# Paying a team licence by invoice (accounts/organisations/invoicing.py): the payment terms
# a buyer may choose, in days from the invoice's date to its due date, and the one offered
# first. Stripe accepts up to 365 days until due.
INVOICE_NET_TERMS_DEFAULT = env_int("INVOICE_NET_TERMS_DEFAULT", default=30, minimum=1, maximum=365)
INVOICE_NET_TERMS = sorted(
    {INVOICE_NET_TERMS_DEFAULT}
    | set(env_int_list("INVOICE_NET_TERMS", default=[14, 30, 60], minimum=1, maximum=365))
)
# Checkout's offer (accounts/billing/checkout.py). A free trial of this many days for a
# reader's first subscription (0: none; Stripe allows up to two years). Without a card
# required, Checkout asks for none and a trial nobody added a card to ends by itself.
STRIPE_TRIAL_DAYS = env_int("STRIPE_TRIAL_DAYS", default=0, minimum=0, maximum=730)
STRIPE_TRIAL_REQUIRES_CARD = env_bool("STRIPE_TRIAL_REQUIRES_CARD", default=True)
# Stripe Tax: needs tax registrations and a product tax code set up in the Stripe dashboard.
STRIPE_AUTOMATIC_TAX = env_bool("STRIPE_AUTOMATIC_TAX", default=False)

if not DEBUG:
    missing = [
        name
        for name, value in [
            ("DJANGO_SECRET_KEY", SECRET_KEY),
            ("DJANGO_ALLOWED_HOSTS", ALLOWED_HOSTS),
            ("DATABASE_URL", _DATABASE_URL),
            ("CELERY_BROKER_URL or REDIS_URL", CELERY_BROKER_URL),
            ("STRIPE_SECRET_KEY", STRIPE_SECRET_KEY),
            ("STRIPE_WEBHOOK_SECRET", STRIPE_WEBHOOK_SECRET),
            ("STRIPE_PRICE_MONTHLY", STRIPE_PRICE_MONTHLY),
            ("STRIPE_PRICE_ANNUAL", STRIPE_PRICE_ANNUAL),
        ]
        if not value
    ]
    if missing:
        raise ImproperlyConfigured(
            "With DJANGO_DEBUG off these environment variables are required: "
            + ", ".join(missing)
            + ". For local development run `make run`, which sets DJANGO_DEBUG=true."
        )
    if SECRET_KEY == _DEV_SECRET_KEY or len(SECRET_KEY) < 50:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY must be a random value of at least 50 characters in production."
        )

SITE_URL = env_url(
    "SITE_URL", default="http://127.0.0.1:8000" if DEBUG else "", schemes={"http", "https"}
).rstrip("/")
if not DEBUG and not SITE_URL:
    SITE_URL = f"https://{ALLOWED_HOSTS[0]}"
SITE_NAME = env_str("SITE_NAME", default="Gridline Research")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.postgres",
    "django.contrib.sitemaps",
    "allauth",
    "allauth.account",
    # Organisations' single sign-on: each one's identity provider is a SocialApp row.
    "allauth.socialaccount",
    "allauth.socialaccount.providers.openid_connect",
    "allauth.socialaccount.providers.saml",
    # Lists each account's signed-in sessions; before "accounts", so its login receiver has
    # recorded the new session when ours counts them (accounts/sessions/).
    "allauth.usersessions",
    "publisher.mail",
    "publisher.storage",
    "django_prometheus",
    "accounts",
    "reports",
]

MIDDLEWARE = [
    # Outermost and innermost: requests by view, their latency and status, for Prometheus
    # (publisher/metrics/), the page cache's hits included.
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "publisher.cache.pages.PageCacheMiddleware",
    # Entitled readers' shared report page: its hits, and storing what the view rendered
    # with the final headers of everything below (reports/entitled_page.py).
    "reports.entitled_page.EntitledPageMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "publisher.cache.pages.CacheControlMiddleware",
    # Below CacheControlMiddleware, so its 414 is `private, no-store` with the security headers.
    "publisher.url_length.UrlLengthMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    # After auth and messages: tells a device whose session was ended why, and keeps each
    # session's last-seen time and network (accounts/sessions/).
    "accounts.sessions.middleware.SessionsMiddleware",
    # After sessions and auth: marks the session of a reader from an office range, so no
    # shared cache serves or stores their pages (reports/office.py).
    "reports.office.OfficeNetworkMiddleware",
    "publisher.errors.MethodNotAllowedPageMiddleware",
    # Before the replica's: its view hook must run, and the replica's renders the view.
    "django_prometheus.middleware.PrometheusAfterMiddleware",
    # Last: where the view reads from, decided after everything above (publisher/replica.py).
    "publisher.replica.ReplicaMiddleware",
]

ROOT_URLCONF = "publisher.urls"
WSGI_APPLICATION = "publisher.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "publisher.context_processors.site",
                # Whether the reader may read every report, and their new-report emails:
                # the header's Subscribe button and the newsletter box ask it.
                "reports.context_processors.reader",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        _DATABASE_URL or "sqlite:///:memory:",
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", default=0 if DEBUG else 60, minimum=0),
        conn_health_checks=True,
    )
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# A streaming replica of the primary (publisher/replica.py): the public pages, feeds, sitemap
# and the publisher's dashboard read from it, everything else from DATABASE_URL. Unset: the
# primary serves everything.
_DATABASE_REPLICA_URL = env_url("DATABASE_REPLICA_URL", schemes={"postgres", "postgresql"})
if _DATABASE_REPLICA_URL:
    if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        raise ImproperlyConfigured(
            "DATABASE_REPLICA_URL needs a PostgreSQL primary in DATABASE_URL."
        )
    DATABASES["replica"] = dj_database_url.parse(
        _DATABASE_REPLICA_URL,
        conn_max_age=DATABASES["default"]["CONN_MAX_AGE"],
        conn_health_checks=True,
    )
    # A replica that stops answering costs a reader at most this long before the primary
    # serves them.
    DATABASES["replica"].setdefault("OPTIONS", {}).setdefault("connect_timeout", 2)
    # The test runner never creates a database on a read-only standby: under test the alias
    # is the test database (tests/support/replication.py brings a real standby).
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
    DATABASE_ROUTERS = ["publisher.replica.ReplicaRouter"]
# Django's backends, the primary's and the replica's, with queries, their time and errors
# counted for Prometheus.
for _database in DATABASES.values():
    _database["ENGINE"] = _database["ENGINE"].replace(
        "django.db.backends.", "django_prometheus.db.backends.", 1
    )
# A reader's reads stay on the primary this long after a request of theirs wrote, so they
# see their own comment at once.
REPLICA_PIN_SECONDS = env_int("REPLICA_PIN_SECONDS", default=10, minimum=1)
# Reads fall back to the primary while the replica is further behind than this (0: unless
# it has replayed everything), measured by each process at most every REPLICA_CHECK_SECONDS.
REPLICA_MAX_LAG_SECONDS = env_int("REPLICA_MAX_LAG_SECONDS", default=10, minimum=0)
REPLICA_CHECK_SECONDS = env_int("REPLICA_CHECK_SECONDS", default=5, minimum=1)
# The views that may read from the replica, by URL name, and for whom: "anonymous" (a
# logged-in reader's page may show their own doings) or "everyone".
REPLICA_READ_VIEWS = {
    **dict.fromkeys(
        [
            "reports:home",
            "reports:detail",
            "reports:topic",
            "reports:kind",
            "reports:author",
            "reports:search",
        ],
        "anonymous",
    ),
    **dict.fromkeys(
        [
            "reports:feed",
            "reports:topic-feed",
            "reports:kind-feed",
            "reports:atom",
            "reports:topic-atom",
            "reports:kind-atom",
            "reports:sitemap",
            # The publisher's dashboard: staff only, counts that may be seconds old.
            "dashboard:page",
            "dashboard:chart",
            "dashboard:csv",
        ],
        "everyone",
    ),
}

if REDIS_URL:
    CACHES = {
        "default": {
            # Django's backend, reusing its redis-py clients (publisher/cache/redis.py).
            "BACKEND": "publisher.cache.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "publisher",
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# django-allauth: the email address is the login, and it must be verified (by a code).
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_LOGIN_BY_CODE_ENABLED = True
ACCOUNT_CHANGE_EMAIL = True
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_EMAIL_VERIFICATION_BY_CODE_ENABLED = True
ACCOUNT_PREVENT_ENUMERATION = True
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_SESSION_REMEMBER = None
ACCOUNT_SIGNUP_FORM_CLASS = "accounts.forms.SignupDetailsForm"
ACCOUNT_ADAPTER = "accounts.adapter.AccountAdapter"
# Addresses at a domain whose organisation requires single sign-on are sent to it from the
# login form, and refused a sign-in code or a password reset.
ACCOUNT_FORMS = {
    "login": "accounts.organisations.sso_forms.LoginForm",
    "request_login_code": "accounts.organisations.sso_forms.RequestLoginCodeForm",
    "reset_password": "accounts.organisations.sso_forms.ResetPasswordForm",
}
# Organisations' single sign-on (accounts/organisations/sso.py). An identity provider is
# trusted only for addresses at its organisation's own domains (the adapter refuses any
# other), which is what makes signing an existing account in by its address safe.
SOCIALACCOUNT_ADAPTER = "accounts.organisations.sso.SocialAccountAdapter"
SOCIALACCOUNT_EMAIL_AUTHENTICATION = True
SOCIALACCOUNT_EMAIL_AUTHENTICATION_AUTO_CONNECT = True
SOCIALACCOUNT_STORE_TOKENS = False
SOCIALACCOUNT_PROVIDERS = {"openid_connect": {"OAUTH_PKCE_ENABLED": True}}
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "http" if DEBUG else "https"
# Behind nginx (one proxy hop) the client's address is the last X-Forwarded-For entry;
# allauth's rate limits (and the admin's, publisher/admin_login.py) key on it. Set it to
# the number of proxies that append to X-Forwarded-For (0 when clients connect directly,
# or an attacker could pick their own address).
ALLAUTH_TRUSTED_PROXY_COUNT = env_int(
    "ALLAUTH_TRUSTED_PROXY_COUNT", default=0 if DEBUG else 1, minimum=0
)
# One person, one account: signing in on a further device ends the oldest session (staff
# are exempt). The admin's network report lists accounts whose sessions came from more than
# SESSION_NETWORKS_PER_DAY networks (IPv4 /24, IPv6 /48) on one day.
MAX_SESSIONS_PER_USER = env_int("MAX_SESSIONS_PER_USER", default=3, minimum=1)
SESSION_NETWORKS_PER_DAY = env_int("SESSION_NETWORKS_PER_DAY", default=4, minimum=1)
# allauth's own per-request tracking writes a row on every request; SessionsMiddleware
# records the last-seen time at most every few minutes instead.
USERSESSIONS_TRACK_ACTIVITY = False
# Sessions it ends leave the ended device a notice (accounts/sessions/adapter.py).
USERSESSIONS_ADAPTER = "accounts.sessions.adapter.UserSessionsAdapter"
LOGIN_REDIRECT_URL = "/"
LOGIN_URL = "account_login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", default="America/New_York")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env_str("STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", default=str(VAR_DIR / "media")))
# Uploaded pictures: MEDIA_ROOT unless MEDIA_STORAGE_URL names a bucket (publisher/storage/).
_MEDIA_STORAGE = media_storage_from_url("MEDIA_STORAGE_URL")
# Where pages load media from when that is another origin (a bucket, a CDN); "" for the site.
MEDIA_ORIGIN = _MEDIA_STORAGE.origin
STORAGES = {
    "default": _MEDIA_STORAGE.storage,
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# Email. Django 6.1's MAILERS replaces EMAIL_BACKEND; allauth sends through the default
# mailer, so one entry serves both.
MAILERS = {
    "default": mailer_from_url("EMAIL_URL", default="console://" if DEBUG else "smtp://localhost")
}


def suppressing(mailer: dict[str, object]) -> dict[str, object]:
    """The mailer wrapped so no suppressed address is ever mailed, whatever the backend
    (`accounts/deliverability/mailer.py`; named by its path, so `publisher` imports no app)."""
    return {
        "BACKEND": "accounts.deliverability.mailer.SuppressingMailer",
        "OPTIONS": {"backend": mailer["BACKEND"], "options": mailer.get("OPTIONS", {})},
    }


MAILERS = {alias: suppressing(mailer) for alias, mailer in MAILERS.items()}
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", default=f"{SITE_NAME} <reports@localhost>")
SERVER_EMAIL = env_str("SERVER_EMAIL", default=DEFAULT_FROM_EMAIL)
# DKIM signing of mail sent over SMTP (publisher/mail/signing.py): off without a key. The
# domain defaults to DEFAULT_FROM_EMAIL's.
DKIM_PRIVATE_KEY = env_str("DKIM_PRIVATE_KEY")
DKIM_PRIVATE_KEY_FILE = env_str("DKIM_PRIVATE_KEY_FILE")
DKIM_SELECTOR = env_str("DKIM_SELECTOR")
DKIM_DOMAIN = env_str("DKIM_DOMAIN")

# Events back from email providers (accounts/deliverability/): Anymail's tracking webhooks
# at /anymail/<provider>/tracking/. Each is refused unless it authenticates as the provider
# does: basic auth for SES and Postmark (WEBHOOK_SECRET, "user:password" in the URL given
# to the provider), Mailgun's HMAC signature, Resend's Svix signature.
ANYMAIL = {
    key: value
    for key, value in {
        "WEBHOOK_SECRET": env_list("ANYMAIL_WEBHOOK_SECRET"),
        "MAILGUN_WEBHOOK_SIGNING_KEY": env_str("MAILGUN_WEBHOOK_SIGNING_KEY"),
        "RESEND_SIGNING_SECRET": env_str("RESEND_SIGNING_SECRET"),
    }.items()
    if value
}
# A soft bounce (a full mailbox, a server down) suppresses an address once this many
# happened within this many days; a hard bounce or a complaint suppresses at once.
EMAIL_SOFT_BOUNCE_LIMIT = env_int("EMAIL_SOFT_BOUNCE_LIMIT", default=3, minimum=1)
EMAIL_SOFT_BOUNCE_WINDOW_DAYS = env_int("EMAIL_SOFT_BOUNCE_WINDOW_DAYS", default=7, minimum=1)

# Celery. Without a broker (make run) tasks run eagerly in the web process.
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", default=not CELERY_BROKER_URL)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# The timings below are production's; the prod-like fault suite (tests/prodlike) scales
# them down through the environment so that recovery fits in a test run.
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", default=10 * 60, minimum=10)
CELERY_TASK_SOFT_TIME_LIMIT = CELERY_TASK_TIME_LIMIT * 9 // 10
# Longer than any task may run, so an unacknowledged task is not redelivered while it runs.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env_int(
        "CELERY_VISIBILITY_TIMEOUT", default=60 * 60, minimum=CELERY_TASK_TIME_LIMIT + 1
    )
}
CELERY_TIMEZONE = TIME_ZONE
# Task modules outside the installed apps, which autodiscovery does not look into.
CELERY_IMPORTS = ["publisher.cache.tasks"]
CELERY_BEAT_SCHEDULE = {
    "publish-due-reports": {"task": "reports.tasks.publish_due_reports", "schedule": 60.0},
    # Counts wait in Redis until folded into the database (reports/counting/folding.py).
    "fold-day-counts": {"task": "reports.tasks.fold_day_counts", "schedule": 300.0},
    # The repair path for missed webhooks: compare every membership with Stripe nightly.
    "stripe-reconcile": {
        "task": "accounts.tasks.reconcile_memberships",
        "schedule": crontab(hour=4, minute=17),
    },
    # The network report looks back 30 days; older rows say nothing more.
    "prune-session-networks": {
        "task": "accounts.tasks.prune_session_networks",
        "schedule": crontab(hour=4, minute=41),
    },
}

# Security. Everything below is on by default in production and can be relaxed explicitly
# (for example SECURE_SSL_REDIRECT=false when TLS ends before a proxy that cannot forward it).
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=not DEBUG)
if env_bool("SECURE_PROXY_SSL_HEADER", default=not DEBUG):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", default=not DEBUG)
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SESSION_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "strict-origin-when-cross-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
STRIPE_HOSTED_PAGES = ["https://checkout.stripe.com", "https://billing.stripe.com"]
if STRIPE_API_BASE:  # a local fake of Stripe (make prodlike) plays the hosted pages too
    STRIPE_HOSTED_PAGES.append(STRIPE_API_BASE.rstrip("/"))
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:", *([MEDIA_ORIGIN] if MEDIA_ORIGIN else [])],
    "frame-src": ["https://www.youtube-nocookie.com", "https://player.vimeo.com"],
    "frame-ancestors": [CSP.NONE],
    # Checkout and the Billing Portal are reached by a form POST that redirects to Stripe.
    "form-action": [CSP.SELF, *STRIPE_HOSTED_PAGES],
    "base-uri": [CSP.SELF],
    "object-src": [CSP.NONE],
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", default="INFO")},
}

# Paid access: how long a past_due subscription keeps access after its period ended,
# matching the retry schedule configured in Stripe.
PAST_DUE_GRACE_DAYS = env_int("PAST_DUE_GRACE_DAYS", default=7, minimum=0)
REPORTS_PER_PAGE = 12

# New-report notifications (reports/notifications/). Transient SMTP errors are retried
# with exponential backoff and jitter; a delivery is given up (failed) after this many tries.
NOTIFY_RETRY_BACKOFF = env_int("NOTIFY_RETRY_BACKOFF", default=30, minimum=1)
NOTIFY_RETRY_BACKOFF_MAX = env_int("NOTIFY_RETRY_BACKOFF_MAX", default=15 * 60, minimum=1)
NOTIFY_MAX_RETRIES = 8
NOTIFY_MAX_ATTEMPTS = 8
# At most this many notification emails a second from each worker process (0: no limit):
# the relay's or provider's sending limit, or room left for the pages on a shared machine.
NOTIFY_SEND_RATE = env_int("NOTIFY_SEND_RATE", default=0, minimum=0)
# The sweep re-enqueues deliveries queued this long without being sent, and claims older
# than any task may run (the worker holding them died): never shorter than the time limit,
# or a live task's claims could be handed to another.
NOTIFY_STALE_AFTER = env_int("NOTIFY_STALE_AFTER", default=10 * 60, minimum=1)
NOTIFY_CLAIM_TIMEOUT = env_int(
    "NOTIFY_CLAIM_TIMEOUT",
    default=CELERY_TASK_TIME_LIMIT + 5 * 60,
    minimum=CELERY_TASK_TIME_LIMIT + 1,
)
NOTIFY_SWEEP_EVERY = env_int("NOTIFY_SWEEP_EVERY", default=60, minimum=1)
# On a lost broker connection let running tasks finish: a batch completes and marks its rows
# (Celery 6 would cancel it, leaving claims for the sweep). Explicit: Celery 5.7 still logs its
# pending-deprecation warning about the default at every reconnect.
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = False
CELERY_BEAT_SCHEDULE["requeue-stale-deliveries"] = {
    "task": "reports.tasks.requeue_stale_deliveries",
    "schedule": float(NOTIFY_SWEEP_EVERY),
}
# Exactly one beat sends the schedule, however many machines start one (publisher/beat.py):
# RedBeat keeps the schedule in Redis behind a lock the running beat renews every loop. A
# second beat waits for the lock, and takes over within BEAT_LOCK_SECONDS of the first one
# dying without releasing it.
CELERY_BEAT_SCHEDULER = "publisher.beat_scheduler.RedBeatScheduler"
CELERY_REDBEAT_REDIS_URL = CELERY_BROKER_URL
CELERY_REDBEAT_KEY_PREFIX = "gridline:beat"
CELERY_REDBEAT_LOCK_TIMEOUT = env_int("BEAT_LOCK_SECONDS", default=30, minimum=10)
CELERY_BEAT_MAX_LOOP_INTERVAL = min(5, CELERY_REDBEAT_LOCK_TIMEOUT // 3)

# HTTP caching (publisher/cache/pages.py). Anonymous pages are public for PUBLIC_PAGE_MAX_AGE
# seconds (nginx and browsers); the server-side page cache keeps them PAGE_CACHE_SECONDS
# (0 turns it off) and is invalidated when reports are published or edited and when comments
# change, so its lifetime only bounds what nothing invalidates (an author's new display name).
PUBLIC_PAGE_MAX_AGE = env_int("PUBLIC_PAGE_MAX_AGE", default=60, minimum=0)
PAGE_CACHE_SECONDS = env_int("PAGE_CACHE_SECONDS", default=600, minimum=0)

# A CDN in front (publisher/cache/cdn.py): every public page names what it shows in
# `Surrogate-Key` and `Cache-Tag`, and every change purges exactly those keys through the
# CDN's API (`fastly://SERVICE_ID` with FASTLY_API_TOKEN, `cloudflare://ZONE_ID` with
# CLOUDFLARE_API_TOKEN; empty: no CDN). The API addresses are settings so the tests can
# point them at local fakes.
CDN_PURGE = cdn_purge_from_url("CDN_PURGE_URL")
FASTLY_API_BASE = env_url(
    "FASTLY_API_BASE", default="https://api.fastly.com", schemes={"http", "https"}
)
CLOUDFLARE_API_BASE = env_url(
    "CLOUDFLARE_API_BASE",
    default="https://api.cloudflare.com/client/v4",
    schemes={"http", "https"},
)
# A purge the CDN refused for a passing reason (5xx, 429, no connection) is retried this
# many times with backoff (about 20 minutes in all) before it is given up and logged.
CDN_PURGE_MAX_RETRIES = 8
# What a shared cache may keep an anonymous page (s-maxage) while browsers keep it
# PUBLIC_PAGE_MAX_AGE. Only with a purge backend, which makes a change visible within
# seconds; without one the shared lifetime stays PUBLIC_PAGE_MAX_AGE, which is all that
# bounds staleness. The cap bounds a purge that failed past its retries.
PUBLIC_PAGE_SHARED_MAX_AGE_CAP = 6 * 3600
PUBLIC_PAGE_SHARED_MAX_AGE = env_int(
    "PUBLIC_PAGE_SHARED_MAX_AGE",
    default=3600 if CDN_PURGE else 0,
    minimum=0,
    maximum=PUBLIC_PAGE_SHARED_MAX_AGE_CAP,
)
if PUBLIC_PAGE_SHARED_MAX_AGE and CDN_PURGE is None:
    raise ImproperlyConfigured(
        "PUBLIC_PAGE_SHARED_MAX_AGE needs CDN_PURGE_URL: without purges a shared copy "
        "would stay stale that long. Leave it unset (or 0) without a CDN."
    )
if 0 < PUBLIC_PAGE_SHARED_MAX_AGE < PUBLIC_PAGE_MAX_AGE:
    raise ImproperlyConfigured(
        f"PUBLIC_PAGE_SHARED_MAX_AGE={PUBLIC_PAGE_SHARED_MAX_AGE} must be at least "
        f"PUBLIC_PAGE_MAX_AGE ({PUBLIC_PAGE_MAX_AGE}), or 0."
    )

# Requests the server-side page cache must never answer or store although they carry no
# session cookie: dotted paths of `(request) -> bool` checks, so `publisher` stays ignorant of
# the apps. A reader from an office range (accounts/organisations/networks.py) reads paid
# text under their organisation's licence from their very first request.
PAGE_CACHE_BYPASS_CHECKS = ["accounts.organisations.networks.request_from_office_network"]
# Answers the WSGI front (publisher/cache/wsgi.py) may give before Django's handler, after
# the anonymous page cache: each takes the request and returns (status, body, headers) or
# None. The shared report page of entitled readers (reports/entitled_page.py).
PAGE_CACHE_FRONT_ANSWERS = ["reports.entitled_page.entitled_page_answer"]

# Office networks (accounts/organisations/networks.py): the file the application writes for
# nginx's `geo $gridline_office_network` block on every change of the ranges (empty: no nginx
# in front), and the command then run to make nginx read it (e.g. `sudo systemctl reload
# nginx`; empty: none).
OFFICE_NETWORKS_NGINX_FILE = env_str("OFFICE_NETWORKS_NGINX_FILE", "")
OFFICE_NETWORKS_NGINX_RELOAD = env_str("OFFICE_NETWORKS_NGINX_RELOAD", "")

# Searches one client address may run a minute and an hour while its reader may not read
# every body (reports/views/search.py explains the numbers); 0 turns that window off.
SEARCH_LIMIT_PER_MINUTE = env_int("SEARCH_LIMIT_PER_MINUTE", default=30, minimum=0)
SEARCH_LIMIT_PER_HOUR = env_int("SEARCH_LIMIT_PER_HOUR", default=300, minimum=0)

# nginx's loopback purge servers (deploy/nginx.conf), comma-separated, one per nginx: every
# change purges their copy of the page-cache generation (publisher/cache/proxy.py). Empty:
# no shared cache in front to purge (runserver, the unit tests).
PROXY_PURGE_URL = env_url_list("PROXY_PURGE_URL", schemes={"http", "https"})

# Error reports (publisher/sentry.py): only with a DSN; without one the SDK is never started.
# Events carry no request bodies, cookies, users or local variables.
SENTRY_DSN = env_url("SENTRY_DSN", schemes={"http", "https"})
SENTRY_ENVIRONMENT = env_str("SENTRY_ENVIRONMENT", default="development" if DEBUG else "production")
SENTRY_RELEASE = env_str("SENTRY_RELEASE")
# The share of requests and tasks traced for Sentry's performance pages (0: none).
SENTRY_TRACES_SAMPLE_RATE = env_float(
    "SENTRY_TRACES_SAMPLE_RATE", default=0.0, minimum=0.0, maximum=1.0
)
if SENTRY_DSN:
    from publisher.sentry import sentry_init

    sentry_init(
        dsn=SENTRY_DSN,
        environment=SENTRY_ENVIRONMENT,
        release=SENTRY_RELEASE,
        traces_sample_rate=SENTRY_TRACES_SAMPLE_RATE,
    )

# Prometheus (publisher/metrics/). GET /metrics answers a scraper sending
# `Authorization: Bearer <METRICS_TOKEN>`; without a token it is 404 (with DEBUG on, open
# to loopback). A Celery worker serves its own tasks' counters on CELERY_METRICS_PORT
# (0: off) at CELERY_METRICS_ADDRESS, with the same token.
METRICS_TOKEN = env_str("METRICS_TOKEN")
if METRICS_TOKEN and len(METRICS_TOKEN) < 32:
    raise ImproperlyConfigured("METRICS_TOKEN must be a random value of at least 32 characters.")
CELERY_METRICS_PORT = env_int("CELERY_METRICS_PORT", default=0, minimum=0, maximum=65535)
CELERY_METRICS_ADDRESS = env_str("CELERY_METRICS_ADDRESS", default="127.0.0.1")
# Numbers read when Prometheus scrapes, from the apps (dotted paths of collector classes).
METRICS_COLLECTORS = ["reports.notifications.metrics.PendingDeliveriesCollector"]
PROMETHEUS_LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
