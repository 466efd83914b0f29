"""A small local fake of the Stripe endpoints we call, for the real `stripe` SDK.

It serves over HTTP on loopback, so the SDK goes through its own request, retry and parsing
code; the application only sees a different `STRIPE_API_BASE`. Object shapes follow
Stripe's API reference for the 2026 API versions the SDK pins: the billing period lives on
subscription items, an invoice names its subscription under `parent.subscription_details`.

Besides the API it plays Stripe's hosted pages (Checkout at /pay/<session>, the Billing
Portal at /portal/<session>) and, when given a webhook address, delivers signed events
there the way Stripe does.
"""

import heapq
import html
import json
import random
import re
import secrets
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import stripe

from tests.support.waiting import wait_until

API_VERSION = stripe.api_version
MONTH = 30 * 24 * 3600


def _id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(12)}"


def decode_form(body: str) -> dict[str, Any]:
    """Stripe's nested form encoding (`line_items[0][price]=…`) into dicts and lists."""
    root: dict[str, Any] = {}
    for key, value in parse_qsl(body, keep_blank_values=True):
        parts = re.findall(r"[^\[\]]+", key)
        node = root
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value

    def listify(node: Any) -> Any:
        if isinstance(node, dict):
            node = {k: listify(v) for k, v in node.items()}
            if node and all(k.isdigit() for k in node):
                return [node[k] for k in sorted(node, key=int)]
        return node

    return listify(root)


def sign(payload: str, secret: str, timestamp: int | None = None) -> str:
    """A `Stripe-Signature` header made with Stripe's real scheme (the SDK's own code)."""
    return stripe.WebhookSignature.generate_signature_header(payload, secret, timestamp)


@dataclass
class FakeStripe:
    api_key: str
    prices: set[str]
    webhook_url: str = ""
    webhook_secret: str = ""
    period_seconds: int = MONTH
    customers: dict[str, dict] = field(default_factory=dict)
    sessions: dict[str, dict] = field(default_factory=dict)
    portal_sessions: dict[str, dict] = field(default_factory=dict)
    subscriptions: dict[str, dict] = field(default_factory=dict)
    idempotent: dict[str, dict] = field(default_factory=dict)
    requests: list[tuple[str, str]] = field(default_factory=list)
    subscription_updates: list[tuple[str, dict]] = field(default_factory=list)
    deliveries: list[tuple[str, int]] = field(default_factory=list)
    fail_requests: int = 0

    def __post_init__(self) -> None:
        self._lock = threading.RLock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> "FakeStripe":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    # Objects ------------------------------------------------------------------------------

    def create_customer(self, params: dict[str, Any]) -> dict[str, Any]:
        customer = {
            "id": _id("cus"),
            "object": "customer",
            "created": int(time.time()),
            "email": params.get("email"),
            "name": params.get("name"),
            "metadata": params.get("metadata", {}),
            "livemode": False,
        }
        self.customers[customer["id"]] = customer
        return customer

    def create_subscription(
        self,
        *,
        customer: str,
        price: str,
        metadata: dict[str, str] | None = None,
        quantity: int = 1,
    ) -> dict[str, Any]:
        now = int(time.time())
        subscription = {
            "id": _id("sub"),
            "object": "subscription",
            "customer": customer,
            "status": "active",
            "cancel_at_period_end": False,
            "cancel_at": None,
            "canceled_at": None,
            "ended_at": None,
            "created": now,
            "start_date": now,
            "collection_method": "charge_automatically",
            "metadata": metadata or {},
            "livemode": False,
            "items": {
                "object": "list",
                "has_more": False,
                "url": "/v1/subscription_items",
                "data": [
                    {
                        "id": _id("si"),
                        "object": "subscription_item",
                        "price": {"id": price, "object": "price", "type": "recurring"},
                        "quantity": quantity,
                        "current_period_start": now,
                        "current_period_end": now + self.period_seconds,
                    }
                ],
            },
        }
        self.subscriptions[subscription["id"]] = subscription
        return subscription

    def update_subscription(self, subscription_id: str, **changes: Any) -> dict[str, Any]:
        subscription = self.subscriptions[subscription_id]
        period_end = changes.pop("current_period_end", None)
        subscription.update(changes)
        if period_end is not None:
            for item in subscription["items"]["data"]:
                item["current_period_end"] = period_end
        return subscription

    def modify_subscription(
        self, subscription_id: str, params: dict[str, Any]
    ) -> tuple[int, dict[str, Any]]:
        """`POST /v1/subscriptions/:id` for the parameters we send: item quantities (each
        item named by its id) and the proration behaviour, as Stripe validates them."""
        subscription = self.subscriptions[subscription_id]
        if subscription["status"] == "canceled":
            return _error(400, "A canceled subscription can only update its cancellation_details.")
        behaviour = params.get("proration_behavior", "create_prorations")
        if behaviour not in ("create_prorations", "none", "always_invoice"):
            return _error(400, f"Invalid proration_behavior: {behaviour}",
                          param="proration_behavior")  # fmt: skip
        items = {item["id"]: item for item in subscription["items"]["data"]}
        changes = params.get("items") or []
        for index, change in enumerate(changes):
            if change.get("id") not in items:
                return _error(400, f"No such subscription item: '{change.get('id')}'",
                              param=f"items[{index}][id]")  # fmt: skip
            if "quantity" in change and not str(change["quantity"]).isdigit():
                return _error(400, "Invalid integer", param=f"items[{index}][quantity]")
        for change in changes:
            if "quantity" in change:
                items[change["id"]]["quantity"] = int(change["quantity"])
        self.subscription_updates.append((subscription_id, params))
        return 200, subscription

    def invoice_for(self, subscription: dict[str, Any], *, paid: bool) -> dict[str, Any]:
        return {
            "id": _id("in"),
            "object": "invoice",
            "customer": subscription["customer"],
            "status": "paid" if paid else "open",
            "parent": {
                "type": "subscription_details",
                "quote_details": None,
                "subscription_details": {
                    "subscription": subscription["id"],
                    "metadata": subscription["metadata"],
                },
            },
        }

    def event(self, event_type: str, obj: dict[str, Any], *, created: int | None = None) -> dict:
        return {
            "id": _id("evt"),
            "object": "event",
            "api_version": API_VERSION,
            "created": created or int(time.time()),
            "type": event_type,
            "livemode": False,
            "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None},
            "data": {"object": json.loads(json.dumps(obj))},
        }

    def deliver(self, event: dict[str, Any]) -> int:
        """POST a signed event to the webhook address, as Stripe does; returns the status."""
        payload = json.dumps(event)
        request = urllib.request.Request(  # noqa: S310 - our own loopback address
            self.webhook_url,
            data=payload.encode(),
            headers={
                "Content-Type": "application/json",
                "Stripe-Signature": sign(payload, self.webhook_secret),
            },
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
                status = response.status
        except urllib.error.HTTPError as error:
            status = error.code
        except OSError:
            status = 0  # no answer at all: refused, reset or timed out
        self.deliveries.append((event["type"], status))
        return status

    # Hosted pages -------------------------------------------------------------------------

    def complete_checkout(self, session_id: str) -> tuple[dict, list[dict]]:
        """What paying on Stripe's hosted Checkout does; returns the session and events."""
        with self._lock:
            session = self.sessions[session_id]
            subscription = self.create_subscription(
                customer=session["customer"],
                price=session["_price"],
                metadata=session["_subscription_metadata"],
                quantity=session["_quantity"],
            )
            session.update(
                status="complete", payment_status="paid", subscription=subscription["id"]
            )
            events = [
                self.event("customer.subscription.created", subscription),
                self.event("invoice.paid", self.invoice_for(subscription, paid=True)),
                self.event("checkout.session.completed", _public(session)),
            ]
        return session, events

    def cancel_at_period_end(self, subscription_id: str) -> dict[str, Any]:
        with self._lock:
            subscription = self.update_subscription(subscription_id, cancel_at_period_end=True)
            return self.event("customer.subscription.updated", subscription)

    def end_period(self, subscription_id: str) -> dict[str, Any]:
        """Time passes past the period end of a subscription set to cancel: Stripe ends it."""
        with self._lock:
            subscription = self.update_subscription(
                subscription_id, status="canceled", ended_at=int(time.time())
            )
            return self.event("customer.subscription.deleted", subscription)

    def deliver_with_retries(
        self, *, senders: int = 4, first_retry: float = 0.5, max_retry: float = 4.0
    ) -> "Deliveries":
        """Start delivering events the way Stripe does in live mode: several at once, in no
        promised order, each retried with exponential backoff until the endpoint answers 2xx.
        Stripe spaces retries over three days; these intervals are scaled down for a test."""
        return Deliveries(self, senders=senders, first_retry=first_retry, max_retry=max_retry)


class Deliveries:
    """Webhook deliveries in progress: a queue ordered by due time, drained by sender
    threads; an event that gets no 2xx goes back with its next retry time."""

    def __init__(
        self, fake: FakeStripe, *, senders: int, first_retry: float, max_retry: float
    ) -> None:
        self._fake = fake
        self._first_retry = first_retry
        self._max_retry = max_retry
        self._due: list[tuple[float, int, int, dict[str, Any]]] = []
        self._ready = threading.Condition()
        self._in_flight = 0
        self._added = 0
        self._closed = False
        self.attempts: dict[str, int] = {}
        self.delivered: set[str] = set()
        self._threads = [
            threading.Thread(target=self._send_loop, daemon=True) for _ in range(senders)
        ]
        for thread in self._threads:
            thread.start()

    def add(self, events: list[dict[str, Any]]) -> None:
        with self._ready:
            now = time.monotonic()
            for event in events:
                self._added += 1
                heapq.heappush(self._due, (now, self._added, 0, event))
            self._ready.notify_all()

    def _next(self) -> tuple[int, dict[str, Any]] | None:
        with self._ready:
            while True:
                if self._closed:
                    return None
                if self._due and self._due[0][0] <= time.monotonic():
                    _, _, attempt, event = heapq.heappop(self._due)
                    self._in_flight += 1
                    return attempt, event
                self._ready.wait(self._due[0][0] - time.monotonic() if self._due else 0.1)

    def _send_loop(self) -> None:
        while (item := self._next()) is not None:
            attempt, event = item
            status = self._fake.deliver(event)
            with self._ready:
                self._in_flight -= 1
                self.attempts[event["id"]] = attempt + 1
                if 200 <= status < 300:
                    self.delivered.add(event["id"])
                else:
                    delay = min(self._max_retry, self._first_retry * 2**attempt)
                    due = time.monotonic() + delay * random.uniform(0.5, 1.0)
                    heapq.heappush(self._due, (due, self._added, attempt + 1, event))
                self._ready.notify_all()

    @property
    def pending(self) -> int:
        with self._ready:
            return len(self._due) + self._in_flight

    def wait_until_delivered(self, timeout: float) -> None:
        wait_until(
            lambda: not self.pending,
            timeout=timeout,
            message=lambda: f"webhook deliveries ({self.pending} still pending)",
        )

    def close(self) -> None:
        with self._ready:
            self._closed = True
            self._ready.notify_all()
        for thread in self._threads:
            thread.join(30)


def _public(obj: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in obj.items() if not k.startswith("_")}


def _error(status: int, message: str, *, param: str | None = None, code: str | None = None):
    return status, {
        "error": {
            "type": "invalid_request_error",
            "message": message,
            "param": param,
            "code": code,
        }
    }


def _handler_for(fake: FakeStripe) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            return

        def _body(self) -> str:
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length).decode() if length else ""

        def _send_json(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Request-Id", _id("req"))
            self.end_headers()
            self.wfile.write(data)

        def _send_html(self, body: str) -> None:
            data = body.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _redirect(self, location: str) -> None:
            self.send_response(303)
            self.send_header("Location", location)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def _authorized(self) -> bool:
            return self.headers.get("Authorization") == f"Bearer {fake.api_key}"

        def _api(self, method: str) -> None:
            path = urlsplit(self.path).path
            fake.requests.append((method, path))
            if not self._authorized():
                self._send_json(
                    401,
                    {"error": {"type": "invalid_request_error", "message": "Invalid API Key."}},
                )
                return
            if fake.fail_requests:
                fake.fail_requests -= 1
                self._send_json(500, {"error": {"type": "api_error", "message": "Fake outage."}})
                return
            body = self._body()
            params = (
                decode_form(body) if method == "POST" else decode_form(urlsplit(self.path).query)
            )
            key = self.headers.get("Idempotency-Key")
            with fake._lock:
                if method == "POST" and key and key in fake.idempotent:
                    self._send_json(200, fake.idempotent[key])
                    return
                status, response = self._route(method, path, params)
                if method == "POST" and key and status == 200:
                    fake.idempotent[key] = response
            self._send_json(status, response)

        def _route(self, method: str, path: str, params: dict[str, Any]) -> tuple[int, dict]:
            if (method, path) == ("POST", "/v1/customers"):
                return 200, fake.create_customer(params)
            if (method, path) == ("POST", "/v1/checkout/sessions"):
                return self._create_checkout_session(params)
            if (method, path) == ("POST", "/v1/billing_portal/sessions"):
                customer = params.get("customer")
                if customer not in fake.customers:
                    return _error(400, f"No such customer: '{customer}'", param="customer")
                session = {
                    "id": _id("bps"),
                    "object": "billing_portal.session",
                    "customer": customer,
                    "return_url": params.get("return_url"),
                    "livemode": False,
                    "created": int(time.time()),
                }
                session["url"] = f"{fake.base_url}/portal/{session['id']}"
                fake.portal_sessions[session["id"]] = session
                return 200, session
            if (method, path) == ("GET", "/v1/subscriptions"):
                data = [
                    s
                    for s in fake.subscriptions.values()
                    if s["customer"] == params.get("customer")
                    and (params.get("status") == "all" or s["status"] != "canceled")
                ]
                return 200, {"object": "list", "data": data, "has_more": False,
                             "url": "/v1/subscriptions"}  # fmt: skip
            match = re.fullmatch(r"/v1/subscriptions/([\w]+)", path)
            if match:
                subscription = fake.subscriptions.get(match.group(1))
                if subscription is None:
                    return _error(404, f"No such subscription: '{match.group(1)}'",
                                  param="id", code="resource_missing")  # fmt: skip
                if method == "DELETE":
                    if subscription["status"] == "canceled":
                        return _error(400, "This subscription is already canceled.")
                    now = int(time.time())
                    subscription.update(status="canceled", canceled_at=now, ended_at=now)
                if method == "POST":
                    return fake.modify_subscription(match.group(1), params)
                return 200, subscription
            return _error(404, f"Unrecognized request URL ({method}: {path}).")

        def _create_checkout_session(self, params: dict[str, Any]) -> tuple[int, dict]:
            if params.get("mode") != "subscription":
                return _error(400, "This fake only supports subscription mode.", param="mode")
            items = params.get("line_items") or []
            price = items[0].get("price") if items else None
            if price not in fake.prices:
                return _error(400, f"No such price: '{price}'", param="line_items[0][price]",
                              code="resource_missing")  # fmt: skip
            customer = params.get("customer")
            if customer not in fake.customers:
                return _error(400, f"No such customer: '{customer}'", param="customer")
            if not params.get("success_url"):
                return _error(400, "Missing required param: success_url.", param="success_url")
            session = {
                "id": _id("cs_test"),
                "object": "checkout.session",
                "mode": "subscription",
                "status": "open",
                "payment_status": "unpaid",
                "customer": customer,
                "client_reference_id": params.get("client_reference_id"),
                "subscription": None,
                "success_url": params["success_url"],
                "cancel_url": params.get("cancel_url"),
                "livemode": False,
                "created": int(time.time()),
                "metadata": params.get("metadata") or {},
                "_price": price,
                "_quantity": int(items[0].get("quantity") or 1),
                "_subscription_metadata": (params.get("subscription_data") or {}).get(
                    "metadata", {}
                ),
            }
            session["url"] = f"{fake.base_url}/pay/{session['id']}"
            fake.sessions[session["id"]] = session
            return 200, _public(session)

        # Hosted pages, played by the browser ----------------------------------------------

        def _hosted(self, method: str) -> bool:
            path = urlsplit(self.path).path
            pay = re.fullmatch(r"/pay/([\w]+)", path)
            portal = re.fullmatch(r"/portal/([\w]+)", path)
            if pay and pay.group(1) in fake.sessions:
                session_id = pay.group(1)
                if method == "GET":
                    self._send_html(
                        "<!doctype html><title>Fake Stripe Checkout</title>"
                        "<h1>Fake Stripe Checkout</h1>"
                        "<form method=post><button>Pay and subscribe</button></form>"
                    )
                    return True
                session, events = fake.complete_checkout(session_id)
                for event in events:
                    fake.deliver(event)
                self._redirect(session["success_url"].replace("{CHECKOUT_SESSION_ID}", session_id))
                return True
            if portal and portal.group(1) in fake.portal_sessions:
                session = fake.portal_sessions[portal.group(1)]
                if method == "GET":
                    self._send_html(
                        "<!doctype html><title>Fake Billing Portal</title>"
                        "<h1>Fake Billing Portal</h1>"
                        "<form method=post><button>Cancel plan</button></form>"
                        f"<a href='{html.escape(session['return_url'])}'>Return</a>"
                    )
                    return True
                for subscription in list(fake.subscriptions.values()):
                    if subscription["customer"] == session["customer"] and (
                        subscription["status"] == "active"
                    ):
                        fake.deliver(fake.cancel_at_period_end(subscription["id"]))
                self._redirect(session["return_url"])
                return True
            return False

        def do_GET(self) -> None:
            if not self._hosted("GET"):
                self._api("GET")

        def do_POST(self) -> None:
            if not urlsplit(self.path).path.startswith("/v1/"):
                self._body()
                if self._hosted("POST"):
                    return
            self._api("POST")

        def do_DELETE(self) -> None:
            self._api("DELETE")

    return Handler
