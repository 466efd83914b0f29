"""Error reports to Sentry, without the readers in them.

`sentry_init` runs from settings when `SENTRY_DSN` is set, so every process that loads the
settings reports: gunicorn's workers (the master imports the application before forking),
Celery's workers and beat, and management commands. Unset, the SDK is never initialised.

An event says what failed and where, never who or what they wrote: the SDK is told to
collect no personal data, no request bodies and no local variables, and `event_scrub` and
`breadcrumb_scrub` remove what integrations add anyway (cookies, auth headers, query
strings, the user, logged messages' arguments, SQL parameters), so no reader's address,
comment, report body or session ever leaves for a third party.
"""

import re
from typing import Any

import sentry_sdk
from sentry_sdk.integrations.celery import CeleryIntegration
from sentry_sdk.integrations.django import DjangoIntegration
from sentry_sdk.integrations.logging import LoggingIntegration

# Request headers an event may keep: none identifies a reader or carries a credential.
_KEPT_HEADERS = {"accept", "accept-encoding", "accept-language", "content-type", "host"}
# An address anywhere in a message: PostgreSQL's DETAIL line of a unique violation names the
# value ("Key (email)=(reader@example.com) already exists").
_EMAIL = re.compile(r"[^\s@()<>\"',;:]+@[^\s@()<>\"',;:]+\.[A-Za-z]{2,}")


def sentry_init(*, dsn: str, environment: str, release: str, traces_sample_rate: float) -> None:
    sentry_sdk.init(
        dsn=dsn,
        environment=environment or None,
        release=release or None,
        traces_sample_rate=traces_sample_rate,
        # What the integrations may collect (the SDK's successor to send_default_pii=False,
        # which it would ignore beside this): no user, cookies, query strings, bodies (they
        # carry comments, sign-up addresses, webhook payloads), SQL or task arguments, and
        # no local variables (a frame may hold a report's body or an email being built).
        data_collection={
            "user_info": False,
            "cookies": {"mode": "off"},
            "http_headers": {"request": {"mode": "allowlist", "terms": sorted(_KEPT_HEADERS)}},
            "http_bodies": [],
            "url_query_params": {"mode": "off"},
            "gen_ai": {"inputs": False, "outputs": False},
            "database_query_data": False,
            "queues": False,
            "stack_frame_variables": False,
        },
        max_request_body_size="never",
        include_local_variables=False,
        before_send=event_scrub,
        before_send_transaction=event_scrub,
        before_breadcrumb=breadcrumb_scrub,
        integrations=[
            DjangoIntegration(),
            CeleryIntegration(),
            LoggingIntegration(),
        ],
    )


def event_scrub(event: Any, hint: Any) -> Any:
    """The event without the reader: a `before_send` hook."""
    request = event.get("request")
    if isinstance(request, dict):
        for key in ("data", "cookies", "query_string", "env"):
            request.pop(key, None)
        if isinstance(request.get("url"), str):
            request["url"] = request["url"].split("?", 1)[0]
        headers = request.get("headers")
        if isinstance(headers, dict):
            request["headers"] = {
                name: value for name, value in headers.items() if name.lower() in _KEPT_HEADERS
            }
    event.pop("user", None)
    logentry = event.get("logentry")
    if isinstance(logentry, dict):
        # The message's template says what happened; its arguments may name the reader.
        logentry.pop("params", None)
        if "formatted" in logentry and "message" in logentry:
            logentry["formatted"] = logentry["message"]
    if isinstance(event.get("message"), str):
        event["message"] = _EMAIL.sub("[email]", event["message"])
    extra = event.get("extra")
    if isinstance(extra, dict):
        # Logged records bring their `extra` along (Celery's failure log carries the task's
        # arguments: tokens, addresses); only the task's name is kept.
        job = extra.get("celery-job")
        event["extra"] = (
            {"celery-job": {"task_name": job.get("task_name")}} if isinstance(job, dict) else {}
        )
    breadcrumbs = event.get("breadcrumbs")
    if isinstance(breadcrumbs, dict) and isinstance(breadcrumbs.get("values"), list):
        breadcrumbs["values"] = [
            kept for crumb in breadcrumbs["values"] if (kept := breadcrumb_scrub(crumb, {}))
        ]
    for exception in (event.get("exception") or {}).get("values") or []:
        if isinstance(exception.get("value"), str):
            exception["value"] = _EMAIL.sub("[email]", exception["value"])
        for frame in (exception.get("stacktrace") or {}).get("frames") or []:
            frame.pop("vars", None)
    _spans_scrub(event)
    return event


def breadcrumb_scrub(crumb: Any, hint: Any) -> Any:
    """The breadcrumb without arguments or parameters: a `before_breadcrumb` hook.

    Logged messages keep their template (`"Unreadable %s tracking payload: %r"`), not the
    values formatted into it; SQL keeps its statement, whose values are placeholders; every
    other message goes (a Redis command names its key, and a cached session's key is the
    reader's session cookie). Data keeps only the method, status and address without its
    query string.
    """
    record = (hint or {}).get("log_record")
    if record is not None:
        crumb["message"] = str(record.msg)
    elif crumb.get("category") != "query":
        crumb.pop("message", None)
    if isinstance(crumb.get("data"), dict):
        crumb["data"] = _kept_data(crumb["data"])
    return crumb


def _spans_scrub(event: Any) -> None:
    """A transaction's spans keep their SQL statements (placeholders only) and lose every
    other description (Redis keys, cache keys, template names with the reader's data)."""
    for span in event.get("spans") or []:
        if not str(span.get("op", "")).startswith("db") or "redis" in str(span.get("op", "")):
            span["description"] = span.get("op")
        if isinstance(span.get("data"), dict):
            span["data"] = _kept_data(span["data"])


_KEPT_DATA = {"url", "method", "status_code", "reason", "db.system", "db.operation"}


def _kept_data(data: dict[str, Any]) -> dict[str, Any]:
    return {
        key: value.split("?", 1)[0] if key == "url" and isinstance(value, str) else value
        for key, value in data.items()
        if key in _KEPT_DATA
    }
