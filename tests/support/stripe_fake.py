"""A small local fake of the Stripe endpoints we call, for the real `stripe` SDK.

It serves over HTTP on loopback, so the SDK goes through its own request, retry and parsing
code; the application only sees a different `STRIPE_API_BASE`. Object shapes follow
Stripe's API reference for the 2026 API versions the SDK pins: the billing period lives on
subscription items, an invoice names its subscription under `parent.subscription_details`.

Besides the API it plays Stripe's hosted pages (Checkout at /pay/<session>, the Billing
Portal at /portal/<session>) and, when given a webhook address, delivers signed events
there the way Stripe does (those an API call causes, too, a moment after it answers).

What it checks follows the API reference: Checkout's `allow_promotion_codes`, trials
(`subscription_data.trial_period_days`, `trial_settings.end_behavior`,
`payment_method_collection`), tax (`automatic_tax`, `tax_id_collection` and the
`customer_update` an existing customer needs for them), subscription updates
(`cancel_at_period_end`, `cancel_at`, item quantities, `proration_behavior`), invoice lists
and invoice previews (`POST /v1/invoices/create_preview`, which replaced the upcoming-invoice
endpoint in 2025), and paying by invoice: `POST /v1/subscriptions` with
`collection_method=send_invoice` and `days_until_due` (required then, refused otherwise),
`invoice_settings.custom_fields` (at most 4; names up to 40 characters, values up to 140),
customers with an address and tax IDs (`tax_id_data`, `/v1/customers/<id>/tax_ids`, of the
types the SDK lists), `expand[]=latest_invoice`, and invoices that go draft → open
(`finalize`: a number, `due_date`, the customer's details and tax IDs copied on) → paid
(`pay` with `paid_out_of_band`), uncollectible (`mark_uncollectible`) or void, each with the
event Stripe sends (`invoice.created`, `.finalized`, `.sent`, `.paid`,
`.marked_uncollectible`, `.voided`, `.overdue`).
Amounts come from `amounts` (price id to cents); a promotion code takes a percentage off,
automatic tax adds `TAX_PERCENT` once the customer has an address.
"""

import heapq
import html
import json
import random
import re
import secrets
import threading
import time
import typing
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import stripe
from stripe.params import CustomerCreateParamsTaxIdDatum

from tests.support.waiting import wait_until

API_VERSION = stripe.api_version
DAY = 24 * 3600
MONTH = 30 * DAY
YEAR = 365 * DAY
TAX_PERCENT = 10
TRIAL_DAYS_MAX = 730
MISSING_PAYMENT_METHOD = ("cancel", "create_invoice", "pause")


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


def _flag(value: Any) -> bool | None:
    """A boolean as the SDK form-encodes it ("true"/"false"); None for anything else."""
    return {"true": True, "false": False}.get(value) if isinstance(value, str) else None


@dataclass
class FakeStripe:
    api_key: str
    prices: set[str]
    webhook_url: str = ""
    webhook_secret: str = ""
    period_seconds: int = MONTH
    # Per price: its amount in cents and its billing period (else 2900 and period_seconds).
    amounts: dict[str, int] = field(default_factory=dict)
    price_periods: dict[str, int] = field(default_factory=dict)
    # What the Billing Portal offers as a plan switch: price id to the other plan's price.
    plan_switches: dict[str, str] = field(default_factory=dict)
    # Promotion codes a reader may type at Checkout: code to percentage off.
    promotion_codes: dict[str, int] = field(default_factory=dict)
    customers: dict[str, dict] = field(default_factory=dict)
    sessions: dict[str, dict] = field(default_factory=dict)
    portal_sessions: dict[str, dict] = field(default_factory=dict)
    subscriptions: dict[str, dict] = field(default_factory=dict)
    invoices: dict[str, dict] = field(default_factory=dict)
    # Each customer's tax IDs, in the order they were added.
    tax_ids: dict[str, list[dict]] = field(default_factory=dict)
    # A promotion code's discount on a subscription: subscription id to percentage off.
    percent_off: dict[str, int] = field(default_factory=dict)
    idempotent: dict[str, dict] = field(default_factory=dict)
    requests: list[tuple[str, str]] = field(default_factory=list)
    # The parameters of each API call, in order (method, path, decoded form).
    calls: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    # Each accepted `POST /v1/subscriptions/<id>`: (subscription id, its parameters).
    subscription_updates: list[tuple[str, dict]] = field(default_factory=list)
    deliveries: list[tuple[str, int]] = field(default_factory=list)
    # Events API calls caused (Stripe sends them as webhooks), in order.
    emitted: list[dict[str, Any]] = field(default_factory=list)
    fail_requests: int = 0
    # Seconds each API answer takes (a slow network or a struggling Stripe).
    answer_delay: float = 0
    last_event: dict[str, Any] = field(default_factory=dict)

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
            "address": params.get("address") or None,
            "default_source": None,
            "invoice_settings": {"default_payment_method": None, "custom_fields": None},
            "metadata": params.get("metadata", {}),
            "livemode": False,
        }
        self.customers[customer["id"]] = customer
        self.tax_ids[customer["id"]] = []
        for data in params.get("tax_id_data") or []:
            self.add_tax_id(customer["id"], data)
        return customer

    def add_tax_id(self, customer_id: str, params: dict[str, Any]) -> dict[str, Any]:
        """A customer's tax ID (`tax_id_data[]` at creation, or `POST
        /v1/customers/<id>/tax_ids`), already checked by `_tax_id_problem`."""
        tax_id = {
            "id": _id("txi"),
            "object": "tax_id",
            "country": params["value"][:2] if params["type"] == "eu_vat"
            else params["type"][:2].upper(),
            "created": int(time.time()),
            "customer": customer_id,
            "livemode": False,
            "owner": {"type": "customer", "customer": customer_id},
            "type": params["type"],
            "value": params["value"],
            # Stripe checks EU, UK and a few other numbers against their registers later.
            "verification": {"status": "pending", "verified_address": None,
                             "verified_name": None},
        }  # fmt: skip
        self.tax_ids.setdefault(customer_id, []).append(tax_id)
        return tax_id

    def _price(self, price: str) -> dict[str, Any]:
        period = self.price_periods.get(price, self.period_seconds)
        return {
            "id": price,
            "object": "price",
            "type": "recurring",
            "currency": "usd",
            "unit_amount": self.amounts.get(price, 2900),
            "recurring": {"interval": "year" if period >= YEAR else "month"},
        }

    def create_subscription(
        self,
        *,
        customer: str,
        price: str,
        metadata: dict[str, str] | None = None,
        quantity: int = 1,
        trial_days: int = 0,
        trial_settings: dict[str, Any] | None = None,
        card: bool = True,
        percent_off: int = 0,
        automatic_tax: bool = False,
        collection_method: str = "charge_automatically",
        days_until_due: int | None = None,
        custom_fields: list[dict[str, str]] | None = None,
        description: str | None = None,
    ) -> dict[str, Any]:
        now = int(time.time())
        trial_end = now + trial_days * DAY if trial_days else None
        subscription = {
            "id": _id("sub"),
            "object": "subscription",
            "customer": customer,
            "status": "trialing" if trial_days else "active",
            "cancel_at_period_end": False,
            "cancel_at": None,
            "canceled_at": None,
            "ended_at": None,
            "created": now,
            "start_date": now,
            "trial_start": now if trial_days else None,
            "trial_end": trial_end,
            "trial_settings": trial_settings
            or {"end_behavior": {"missing_payment_method": "create_invoice"}},
            "collection_method": collection_method,
            "days_until_due": days_until_due,
            "description": description,
            "invoice_settings": {
                "account_tax_ids": None,
                "custom_fields": custom_fields,
                "issuer": {"type": "self"},
            },
            "latest_invoice": None,
            "default_payment_method": _id("pm") if card else None,
            "default_source": None,
            "discounts": [_id("di")] if percent_off else [],
            "automatic_tax": {"enabled": automatic_tax, "liability": None},
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
                        "price": self._price(price),
                        "quantity": quantity,
                        "current_period_start": now,
                        "current_period_end": trial_end
                        or now + self.price_periods.get(price, self.period_seconds),
                    }
                ],
            },
        }
        self.subscriptions[subscription["id"]] = subscription
        if percent_off:
            self.percent_off[subscription["id"]] = percent_off
        return subscription

    def update_subscription(self, subscription_id: str, **changes: Any) -> dict[str, Any]:
        subscription = self.subscriptions[subscription_id]
        period_end = changes.pop("current_period_end", None)
        subscription.update(changes)
        if period_end is not None:
            for item in subscription["items"]["data"]:
                item["current_period_end"] = period_end
        return subscription

    def _period_end(self, subscription: dict[str, Any]) -> int:
        return max(item["current_period_end"] for item in subscription["items"]["data"])

    def amount_due(self, subscription: dict[str, Any]) -> tuple[int, int]:
        """What the subscription's next invoice charges: (total, of which tax)."""
        subtotal = sum(
            item["price"]["unit_amount"] * int(item.get("quantity") or 1)
            for item in subscription["items"]["data"]
        )
        subtotal -= subtotal * self.percent_off.get(subscription["id"], 0) // 100
        customer = self.customers.get(subscription["customer"]) or {}
        taxed = (subscription.get("automatic_tax") or {}).get("enabled") and customer.get("address")
        tax = subtotal * TAX_PERCENT // 100 if taxed else 0
        return subtotal + tax, tax

    def _invoice_object(
        self, subscription: dict[str, Any], *, total: int, tax: int = 0, status: str
    ) -> dict[str, Any]:
        customer = subscription["customer"]
        customer_object = self.customers.get(customer) or {}
        invoice_id = _id("in")
        issued = sum(1 for invoice in self.invoices.values() if invoice["customer"] == customer)
        number = f"{customer[-8:].upper()}-{issued + 1:04d}"
        return {
            "id": invoice_id,
            "object": "invoice",
            "customer": customer,
            "number": number,
            "status": status,
            "created": int(time.time()),
            "currency": "usd",
            "subtotal": total - tax,
            "total": total,
            "amount_due": total,
            "amount_paid": total if status == "paid" else 0,
            "amount_remaining": 0 if status == "paid" else total,
            "attempt_count": 1 if status == "paid" or total else 0,
            "billing_reason": "subscription_cycle",
            "collection_method": subscription.get("collection_method", "charge_automatically"),
            "auto_advance": status == "draft",
            "due_date": None,
            "description": subscription.get("description"),
            # Snapshots of the customer, taken when the invoice is finalised.
            "customer_email": customer_object.get("email"),
            "customer_name": customer_object.get("name"),
            "customer_address": customer_object.get("address"),
            "customer_tax_ids": [
                {"type": tax_id["type"], "value": tax_id["value"]}
                for tax_id in self.tax_ids.get(customer, [])
            ],
            # The subscription's custom fields, else the customer's defaults.
            "custom_fields": (subscription.get("invoice_settings") or {}).get("custom_fields")
            or (customer_object.get("invoice_settings") or {}).get("custom_fields"),
            "status_transitions": {
                "finalized_at": None if status == "draft" else int(time.time()),
                "paid_at": int(time.time()) if status == "paid" else None,
                "marked_uncollectible_at": None,
                "voided_at": None,
            },
            "period_end": int(time.time()),
            "hosted_invoice_url": f"{self.base_url}/invoice/{invoice_id}",
            "invoice_pdf": f"{self.base_url}/invoice/{invoice_id}/pdf",
            "livemode": False,
            "parent": {
                "type": "subscription_details",
                "quote_details": None,
                "subscription_details": {
                    "subscription": subscription["id"],
                    "metadata": subscription["metadata"],
                },
            },
        }

    def issue_invoice(
        self, subscription_id: str, *, paid: bool = True, billing_reason: str | None = None
    ) -> dict[str, Any]:
        """Stripe invoices the subscription's current period (nothing during a trial)."""
        with self._lock:
            subscription = self.subscriptions[subscription_id]
            total, tax = (
                (0, 0) if subscription["status"] == "trialing" else self.amount_due(subscription)
            )
            invoice = self._invoice_object(
                subscription, total=total, tax=tax, status="paid" if paid else "open"
            )
            if billing_reason:
                invoice["billing_reason"] = billing_reason
            self.invoices[invoice["id"]] = invoice
            subscription["latest_invoice"] = invoice["id"]
            return invoice

    def invoice_for(self, subscription: dict[str, Any], *, paid: bool) -> dict[str, Any]:
        """A new invoice of the subscription, recorded (it shows in invoice lists)."""
        if subscription["id"] in self.subscriptions:
            return self.issue_invoice(subscription["id"], paid=paid)
        invoice = self._invoice_object(subscription, total=0, status="paid" if paid else "open")
        self.invoices[invoice["id"]] = invoice
        return invoice

    def preview_invoice(self, subscription_id: str) -> tuple[int, dict[str, Any]]:
        """`POST /v1/invoices/create_preview` for a subscription: its next invoice, which has
        no id yet (Stripe's previews do not), or an error when none is coming."""
        subscription = self.subscriptions.get(subscription_id)
        if subscription is None:
            return _error(400, f"No such subscription: '{subscription_id}'", param="subscription",
                          code="resource_missing")  # fmt: skip
        if subscription["status"] in ("canceled", "incomplete_expired") or (
            subscription["cancel_at_period_end"] or subscription["cancel_at"]
        ):
            return _error(400, f"No upcoming invoices for customer: {subscription['customer']}",
                          code="invoice_upcoming_none")  # fmt: skip
        total, tax = self.amount_due(subscription)
        period_end = self._period_end(subscription)
        preview = self._invoice_object(subscription, total=total, tax=tax, status="draft")
        preview.update(
            id=None, number=None, hosted_invoice_url=None, invoice_pdf=None, amount_paid=0,
            amount_remaining=total, billing_reason="upcoming", created=period_end,
            period_start=period_end, period_end=period_end,
            next_payment_attempt=period_end + 3600, attempt_count=0,
        )  # fmt: skip
        preview["lines"] = {
            "object": "list",
            "has_more": False,
            "data": [
                {"object": "line_item", "amount": item["price"]["unit_amount"],
                 "pricing": {"price_details": {"price": item["price"]["id"]}}}
                for item in subscription["items"]["data"]
            ],
        }  # fmt: skip
        return 200, preview

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

    def complete_checkout(
        self,
        session_id: str,
        *,
        promotion_code: str | None = None,
        card: bool | None = None,
        address: dict[str, str] | None = None,
        business_name: str | None = None,
    ) -> tuple[dict, list[dict]]:
        """What paying on Stripe's hosted Checkout does; returns the session and events.

        `promotion_code` is what the reader typed (refused unless the session allows codes);
        `card` whether they gave one (by default: unless Checkout needed none, a trial with
        `payment_method_collection=if_required`); `address` and `business_name` what they
        entered for tax, saved on the customer where `customer_update` lets Checkout."""
        with self._lock:
            session = self.sessions[session_id]
            percent_off = 0
            if promotion_code is not None:
                if not session["allow_promotion_codes"]:
                    raise ValueError("This Checkout session does not take promotion codes.")
                percent_off = self.promotion_codes[promotion_code]
            trial_days = session["_trial_period_days"]
            if card is None:
                card = not (trial_days and session["payment_method_collection"] == "if_required")
            customer = self.customers[session["customer"]]
            update = session["_customer_update"]
            if session["automatic_tax"]["enabled"]:
                address = address or {"country": "US", "postal_code": "10001"}
                if update.get("address") == "auto":
                    customer["address"] = address
            if business_name and update.get("name") == "auto":
                customer["name"] = business_name
            subscription = self.create_subscription(
                customer=session["customer"],
                price=session["_price"],
                metadata=session["_subscription_metadata"],
                quantity=session["_quantity"],
                trial_days=trial_days,
                trial_settings=session["_trial_settings"],
                card=card,
                percent_off=percent_off,
                automatic_tax=session["automatic_tax"]["enabled"],
            )
            if card:
                customer["invoice_settings"]["default_payment_method"] = subscription[
                    "default_payment_method"
                ]
            session.update(
                status="complete", payment_status="paid", subscription=subscription["id"]
            )
            invoice = self.issue_invoice(subscription["id"], billing_reason="subscription_create")
            events = [
                self.event("customer.subscription.created", subscription),
                self.event("invoice.paid", invoice),
                self.event("checkout.session.completed", _public(session)),
            ]
        return session, events

    def _emit(self, event: dict[str, Any]) -> dict[str, Any]:
        """An event an API call caused. Stripe sends it as a webhook a moment later, never
        within the API call (the caller may hold locks the webhook's handler waits for)."""
        self.emitted.append(event)
        if self.webhook_url:
            threading.Thread(target=self.deliver, args=(event,), daemon=True).start()
        return event

    def modify_subscription(
        self, subscription_id: str, params: dict[str, Any], *, emit: bool = True
    ) -> tuple[int, dict]:
        """`POST /v1/subscriptions/<id>`: the cancellation parameters, as the reference has
        them. The change's event goes to `emitted` (and the webhook), or with `emit=False` to
        the caller as `last_event`."""
        subscription = self.subscriptions[subscription_id]
        if subscription["status"] in ("canceled", "incomplete_expired"):
            return _error(400, "A canceled subscription can only update its cancellation_details "
                          "and metadata.")  # fmt: skip
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
        at_period_end = params.get("cancel_at_period_end")
        if at_period_end is not None and "cancel_at" in params:
            return _error(400, "You may only specify one of these parameters: cancel_at, "
                          "cancel_at_period_end.", param="cancel_at")  # fmt: skip
        now = int(time.time())
        previous = {
            k: subscription[k] for k in ("cancel_at_period_end", "cancel_at", "canceled_at")
        }
        if at_period_end is not None:
            flag = _flag(at_period_end)
            if flag is None:
                return _error(400, "Invalid boolean: " + str(at_period_end),
                              param="cancel_at_period_end")  # fmt: skip
            # Stripe keeps the two in step: cancelling at the period's end also sets the
            # cancellation time to that end, and `canceled_at` to when it was asked.
            subscription.update(
                cancel_at_period_end=flag,
                cancel_at=self._period_end(subscription) if flag else None,
                canceled_at=now if flag else None,
            )
        if "cancel_at" in params:
            value = params["cancel_at"]
            if value == "":
                subscription.update(cancel_at=None, cancel_at_period_end=False, canceled_at=None)
            elif str(value).isdigit() and int(value) > now:
                subscription.update(cancel_at=int(value), canceled_at=now)
            else:
                return _error(
                    400, "cancel_at must be a timestamp in the future.", param="cancel_at"
                )
        for change in changes:
            if "quantity" in change:
                items[change["id"]]["quantity"] = int(change["quantity"])
        if "metadata" in params:
            subscription["metadata"].update(params["metadata"])
        self.subscription_updates.append((subscription_id, params))
        event = self.event("customer.subscription.updated", subscription)
        event["data"]["previous_attributes"] = previous
        self.last_event = event
        if emit:
            self._emit(event)
        return 200, subscription

    def cancel_at_period_end(self, subscription_id: str) -> dict[str, Any]:
        """The reader cancels in the Billing Portal (at the period's end, the portal's default)."""
        with self._lock:
            self.modify_subscription(subscription_id, {"cancel_at_period_end": "true"}, emit=False)
            return self.last_event

    def switch_plan(self, subscription_id: str, price: str) -> list[dict[str, Any]]:
        """The reader switches plan in the Billing Portal. A new billing interval starts a new
        period now, invoiced at once less the unused part of the old one; during a trial only
        the price changes."""
        with self._lock:
            subscription = self.subscriptions[subscription_id]
            item = subscription["items"]["data"][0]
            now = int(time.time())
            old_amount, old_end = item["price"]["unit_amount"], item["current_period_end"]
            old_length = max(1, old_end - item["current_period_start"])
            item["price"] = self._price(price)
            events = []
            if subscription["status"] != "trialing":
                credit = old_amount * max(0, old_end - now) // old_length
                item.update(
                    current_period_start=now,
                    current_period_end=now + self.price_periods.get(price, self.period_seconds),
                )
                total, tax = self.amount_due(subscription)
                invoice = self._invoice_object(
                    subscription, total=max(0, total - credit), tax=tax, status="paid"
                )
                invoice["billing_reason"] = "subscription_update"
                self.invoices[invoice["id"]] = invoice
                events.append(self.event("invoice.paid", invoice))
            events.insert(0, self.event("customer.subscription.updated", subscription))
            return events

    def portal_action(
        self, subscription: dict[str, Any], action: str, customer_id: str
    ) -> list[dict[str, Any]]:
        """What one button of the Billing Portal does; returns the events Stripe sends."""
        with self._lock:
            if action == "cancel":
                return [self.cancel_at_period_end(subscription["id"])]
            if action == "renew":
                self.modify_subscription(
                    subscription["id"], {"cancel_at_period_end": "false"}, emit=False
                )
                return [self.last_event]
            if action == "switch":
                price = subscription["items"]["data"][0]["price"]["id"]
                return self.switch_plan(subscription["id"], self.plan_switches[price])
            if action == "card":
                payment_method = _id("pm")
                self.customers[customer_id]["invoice_settings"]["default_payment_method"] = (
                    payment_method
                )
                # The portal makes a new card the default of the subscriptions as well.
                subscription["default_payment_method"] = payment_method
                return [self.event("customer.subscription.updated", subscription)]
            raise ValueError(f"Unknown portal action {action!r}")

    def trial_will_end(self, subscription_id: str) -> dict[str, Any]:
        """Stripe's notice three days before a trial ends."""
        with self._lock:
            subscription = self.subscriptions[subscription_id]
            return self.event("customer.subscription.trial_will_end", subscription)

    def end_trial(self, subscription_id: str) -> list[dict[str, Any]]:
        """The trial's end arrives. With a card (the subscription's or the customer's) the
        first period starts and is paid; without one, `missing_payment_method=cancel` ends the
        subscription."""
        with self._lock:
            subscription = self.subscriptions[subscription_id]
            customer = self.customers.get(subscription["customer"]) or {}
            card = subscription["default_payment_method"] or (
                customer.get("invoice_settings") or {}
            ).get("default_payment_method")
            behaviour = subscription["trial_settings"]["end_behavior"]["missing_payment_method"]
            now = int(time.time())
            if not card and behaviour == "cancel":
                subscription.update(status="canceled", canceled_at=now, ended_at=now)
                return [self.event("customer.subscription.deleted", subscription)]
            item = subscription["items"]["data"][0]
            subscription["status"] = "active"
            item.update(
                current_period_start=now,
                current_period_end=now
                + self.price_periods.get(item["price"]["id"], self.period_seconds),
            )
            invoice = self.issue_invoice(subscription_id)
            return [
                self.event("customer.subscription.updated", subscription),
                self.event("invoice.paid", invoice),
            ]

    def upcoming_renewal(self, subscription_id: str) -> dict[str, Any]:
        """Stripe's `invoice.upcoming`, some days (set in the dashboard) before a renewal: the
        coming invoice, without an id."""
        with self._lock:
            status, preview = self.preview_invoice(subscription_id)
            if status != 200:
                raise ValueError(preview["error"]["message"])
            return self.event("invoice.upcoming", preview)

    def _next_period(self, subscription: dict[str, Any]) -> None:
        """The period that follows the current one starts where it ends."""
        item = subscription["items"]["data"][0]
        end = item["current_period_end"]
        item.update(
            current_period_start=end,
            current_period_end=end
            + self.price_periods.get(item["price"]["id"], self.period_seconds),
        )

    def renew(self, subscription_id: str, *, paid: bool = True) -> list[dict[str, Any]]:
        """The period ends and the next is invoiced: paid, or the card is declined (Stripe then
        retries while the subscription is past_due)."""
        with self._lock:
            subscription = self.subscriptions[subscription_id]
            if paid:
                self._next_period(subscription)
                subscription["status"] = "active"
            else:
                subscription["status"] = "past_due"
            invoice = self.issue_invoice(subscription_id, paid=paid)
            return [
                self.event("customer.subscription.updated", subscription),
                self.event("invoice.paid" if paid else "invoice.payment_failed", invoice),
            ]

    # Paying by invoice (`collection_method=send_invoice`) -------------------------------------

    def create_subscription_by_api(self, params: dict[str, Any]) -> tuple[int, dict]:
        """`POST /v1/subscriptions`, for the invoiced licences we create through the API (card
        subscriptions start at Checkout). Stripe activates a `send_invoice` subscription at
        once and finalises its first invoice without the hour's wait of renewals: it is open,
        due `days_until_due` days later, and emailed to the customer."""
        problem = _subscription_create_problem(self, params)
        if problem is not None:
            return problem
        item = params["items"][0]
        invoice_settings = params.get("invoice_settings") or {}
        subscription = self.create_subscription(
            customer=params["customer"], price=item["price"],
            metadata=params.get("metadata") or {}, quantity=int(item.get("quantity") or 1),
            card=False, collection_method=params["collection_method"],
            days_until_due=int(params["days_until_due"]),
            custom_fields=invoice_settings.get("custom_fields") or None,
            description=params.get("description"),
        )  # fmt: skip
        self._emit(self.event("customer.subscription.created", subscription))
        invoice = self._draft_invoice(subscription, billing_reason="subscription_create")
        self.finalize_invoice(invoice["id"])
        return 200, self.expanded(subscription, params.get("expand") or [])

    def expanded(self, subscription: dict[str, Any], expand: list[str]) -> dict[str, Any]:
        """The subscription as the API answers with `expand[]=latest_invoice`."""
        answer = json.loads(json.dumps(subscription))
        if "latest_invoice" in expand and subscription.get("latest_invoice"):
            answer["latest_invoice"] = self.invoices[subscription["latest_invoice"]]
        return answer

    def _draft_invoice(self, subscription: dict[str, Any], *, billing_reason: str) -> dict:
        total, tax = self.amount_due(subscription)
        invoice = self._invoice_object(subscription, total=total, tax=tax, status="draft")
        invoice.update(billing_reason=billing_reason, number=None, attempt_count=0)
        self.invoices[invoice["id"]] = invoice
        subscription["latest_invoice"] = invoice["id"]
        self._emit(self.event("invoice.created", invoice))
        return invoice

    def finalize_invoice(self, invoice_id: str) -> tuple[int, dict]:
        """`POST /v1/invoices/<id>/finalize` (what Stripe does by itself an hour after drafting
        a renewal): the invoice gets its number, due date and page, and is sent."""
        invoice = self.invoices[invoice_id]
        if invoice["status"] != "draft":
            return _error(400, f"Invoice {invoice_id} is already finalized.",
                          code="invoice_not_editable")  # fmt: skip
        now = int(time.time())
        subscription = self._subscription_of(invoice)
        customer = self.customers.get(invoice["customer"]) or {}
        issued = sum(1 for other in self.invoices.values()
                     if other["customer"] == invoice["customer"] and other["number"])  # fmt: skip
        invoice.update(
            status="open", auto_advance=True,
            number=f"{invoice['customer'][-8:].upper()}-{issued + 1:04d}",
            customer_email=customer.get("email"), customer_name=customer.get("name"),
            customer_address=customer.get("address"),
            customer_tax_ids=[{"type": t["type"], "value": t["value"]}
                              for t in self.tax_ids.get(invoice["customer"], [])],
        )  # fmt: skip
        invoice["status_transitions"]["finalized_at"] = now
        if invoice["collection_method"] == "send_invoice":
            invoice["due_date"] = now + int(subscription.get("days_until_due") or 30) * DAY
        self._emit(self.event("invoice.finalized", invoice))
        if invoice["collection_method"] == "send_invoice":
            self._emit(self.event("invoice.sent", invoice))
        return 200, invoice

    def _subscription_of(self, invoice: dict[str, Any]) -> dict[str, Any]:
        return self.subscriptions[invoice["parent"]["subscription_details"]["subscription"]]

    def pay_invoice(self, invoice_id: str, params: dict[str, Any]) -> tuple[int, dict]:
        """`POST /v1/invoices/<id>/pay`: for a bank transfer received outside Stripe,
        `paid_out_of_band=true`. An uncollectible invoice can still be paid."""
        invoice = self.invoices[invoice_id]
        if invoice["status"] not in ("open", "uncollectible"):
            return _error(400, f"Invoice is already {invoice['status']}.",
                          code="invoice_not_open")  # fmt: skip
        out_of_band = _flag(params.get("paid_out_of_band"))
        if not out_of_band:
            return _error(400, "This invoice has no payment method to charge; pass "
                          "paid_out_of_band=true to record a payment made outside Stripe.",
                          code="invoice_no_payment_method_types")  # fmt: skip
        now = int(time.time())
        invoice.update(status="paid", amount_paid=invoice["amount_due"], amount_remaining=0)
        invoice["status_transitions"]["paid_at"] = now
        subscription = self._subscription_of(invoice)
        events = []
        if subscription["latest_invoice"] == invoice_id and subscription["status"] in (
            "past_due",
            "unpaid",
        ):
            subscription["status"] = "active"
            events.append(self.event("customer.subscription.updated", subscription))
        events.append(self.event("invoice.paid", invoice))
        for event in events:
            self._emit(event)
        return 200, invoice

    def mark_uncollectible(self, invoice_id: str) -> tuple[int, dict]:
        """`POST /v1/invoices/<id>/mark_uncollectible`: an open invoice written off as bad debt
        (the subscription keeps the status it had)."""
        invoice = self.invoices[invoice_id]
        if invoice["status"] != "open":
            return _error(400, "You can only mark open invoices as uncollectible.",
                          code="invoice_not_open")  # fmt: skip
        invoice["status"] = "uncollectible"
        invoice["status_transitions"]["marked_uncollectible_at"] = int(time.time())
        self._emit(self.event("invoice.marked_uncollectible", invoice))
        return 200, invoice

    def void_invoice(self, invoice_id: str) -> tuple[int, dict]:
        """`POST /v1/invoices/<id>/void`: an open invoice cancelled; nothing is owed on it."""
        invoice = self.invoices[invoice_id]
        if invoice["status"] != "open":
            return _error(400, "You can only void open invoices.", code="invoice_not_open")
        invoice.update(status="void", amount_remaining=0)
        invoice["status_transitions"]["voided_at"] = int(time.time())
        self._emit(self.event("invoice.voided", invoice))
        return 200, invoice

    def invoice_overdue(self, invoice_id: str) -> list[dict[str, Any]]:
        """The due date of an open `send_invoice` invoice passes: Stripe moves its
        subscription to `past_due` and reports the overdue invoice."""
        with self._lock:
            invoice = self.invoices[invoice_id]
            subscription = self._subscription_of(invoice)
            subscription["status"] = "past_due"
            return [
                self.event("customer.subscription.updated", subscription),
                self.event("invoice.overdue", invoice),
            ]

    def renew_by_invoice(self, subscription_id: str) -> dict[str, Any]:
        """An invoiced subscription's period ends: the next period starts and its invoice is
        drafted (finalised by `finalize_invoice`, as Stripe does an hour later)."""
        with self._lock:
            subscription = self.subscriptions[subscription_id]
            self._next_period(subscription)
            self._emit(self.event("customer.subscription.updated", subscription))
            return self._draft_invoice(subscription, billing_reason="subscription_cycle")

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


def _portal_page(fake: FakeStripe, session: dict[str, Any], running: list[dict]) -> str:
    """The Billing Portal's page: cancel or renew, switch plan, add a card."""
    buttons = []
    for subscription in running:
        if subscription["cancel_at_period_end"] or subscription["cancel_at"]:
            buttons.append("<button name=action value=renew>Renew plan</button>")
        else:
            buttons.append("<button name=action value=cancel>Cancel plan</button>")
        price = subscription["items"]["data"][0]["price"]["id"]
        if price in fake.plan_switches:
            other = fake.plan_switches[price]
            interval = fake._price(other)["recurring"]["interval"]
            label = "annual" if interval == "year" else "monthly"
            buttons.append(f"<button name=action value=switch>Switch to {label}</button>")
    buttons.append("<button name=action value=card>Add a card</button>")
    return (
        "<!doctype html><title>Fake Billing Portal</title><h1>Fake Billing Portal</h1>"
        f"<form method=post>{''.join(buttons)}</form>"
        f"<a href='{html.escape(session['return_url'])}'>Return</a>"
    )


def _invoice_page(invoice: dict[str, Any]) -> str:
    """Stripe's hosted invoice page, as far as a buyer checks it: who is billed, the amount,
    the due date, the custom fields and tax IDs printed on it."""
    lines = [
        f"Invoice {invoice['number']}: {invoice['status']}",
        f"Billed to {invoice['customer_name']} ({invoice['customer_email']})",
        f"Amount due: {invoice['amount_remaining']} {invoice['currency']}",
        f"Due: {invoice['due_date']}",
        *(f"{field['name']}: {field['value']}" for field in invoice["custom_fields"] or []),
        *(f"Tax ID ({t['type']}): {t['value']}" for t in invoice["customer_tax_ids"] or []),
    ]
    items = "".join(f"<li>{html.escape(str(line))}</li>" for line in lines)
    return f"<!doctype html><title>Fake Stripe invoice</title><h1>Invoice</h1><ul>{items}</ul>"


def _checkout_options_problem(
    params: dict[str, Any], customer: dict[str, Any]
) -> tuple[int, dict] | None:
    """The API reference's rules for Checkout's promotion, trial and tax parameters; the
    error Stripe answers with, or None."""
    for name in ("allow_promotion_codes",):
        if name in params and _flag(params[name]) is None:
            return _error(400, f"Invalid boolean: {params[name]}", param=name)
    if "allow_promotion_codes" in params and "discounts" in params:
        return _error(400, "You may only specify one of these parameters: "
                      "allow_promotion_codes, discounts.", param="discounts")  # fmt: skip
    collection = params.get("payment_method_collection")
    if collection is not None and collection not in ("always", "if_required"):
        return _error(400, f"Invalid payment_method_collection: {collection}",
                      param="payment_method_collection")  # fmt: skip
    subscription_data = params.get("subscription_data") or {}
    if "trial_period_days" in subscription_data:
        days = subscription_data["trial_period_days"]
        if not str(days).isdigit() or not 1 <= int(days) <= TRIAL_DAYS_MAX:
            return _error(400, "trial_period_days must be between 1 and 730.",
                          param="subscription_data[trial_period_days]")  # fmt: skip
    behaviour = ((subscription_data.get("trial_settings") or {}).get("end_behavior") or {}).get(
        "missing_payment_method"
    )
    if "trial_settings" in subscription_data and behaviour not in MISSING_PAYMENT_METHOD:
        return _error(400, f"Invalid missing_payment_method: {behaviour}", param=(
            "subscription_data[trial_settings][end_behavior][missing_payment_method]"))  # fmt: skip
    update = params.get("customer_update")
    if update is not None:
        if not params.get("customer"):
            return _error(400, "customer_update can only be used with customer.",
                          param="customer_update")  # fmt: skip
        for key, value in update.items():
            if key not in ("address", "name", "shipping") or value not in ("auto", "never"):
                return _error(400, f"Invalid customer_update[{key}]: {value}",
                              param=f"customer_update[{key}]")  # fmt: skip
    update = update or {}
    for name in ("automatic_tax", "tax_id_collection"):
        if name in params and _flag((params[name] or {}).get("enabled")) is None:
            return _error(400, f"Invalid boolean: {name}[enabled]", param=f"{name}[enabled]")
    # An existing customer is taxed by the address on it: Checkout must be allowed to save
    # the one the reader enters.
    if (
        _flag((params.get("automatic_tax") or {}).get("enabled"))
        and not customer.get("address")
        and "auto" not in (update.get("address"), update.get("shipping"))
    ):
        return _error(400, "Automatic tax calculation in Checkout requires a valid address "
                      "on the Customer. Add a valid address to the Customer or set either "
                      "`customer_update[address]` or `customer_update[shipping]` to 'auto' "
                      "to save the address entered in Checkout to the Customer.",
                      param="customer_update[address]")  # fmt: skip
    if _flag((params.get("tax_id_collection") or {}).get("enabled")) and (
        update.get("name") != "auto"
    ):
        # Checkout saves the business name a reader enters with a tax ID onto the customer.
        return _error(400, "tax_id_collection requires customer_update[name] to be 'auto' "
                      "when an existing customer is provided.",
                      param="customer_update[name]")  # fmt: skip
    return None


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
            if fake.answer_delay:
                time.sleep(fake.answer_delay)
            if fake.fail_requests:
                fake.fail_requests -= 1
                self._send_json(500, {"error": {"type": "api_error", "message": "Fake outage."}})
                return
            body = self._body()
            params = (
                decode_form(body) if method == "POST" else decode_form(urlsplit(self.path).query)
            )
            fake.calls.append((method, path, params))
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
                problem = _customer_update_problem(params)
                return problem or (200, fake.create_customer(params))
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
                expand = [name.removeprefix("data.") for name in params.get("expand") or []]
                data = [fake.expanded(subscription, expand) for subscription in data]
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
                    fake._emit(fake.event("customer.subscription.deleted", subscription))
                if method == "POST":
                    return fake.modify_subscription(match.group(1), params)
                return 200, fake.expanded(subscription, params.get("expand") or [])
            if (method, path) == ("POST", "/v1/subscriptions"):
                return fake.create_subscription_by_api(params)
            match = re.fullmatch(r"/v1/customers/([\w]+)(/tax_ids)?", path)
            if match:
                customer = fake.customers.get(match.group(1))
                if customer is None:
                    return _error(404, f"No such customer: '{match.group(1)}'", param="id",
                                  code="resource_missing")  # fmt: skip
                if match.group(2):
                    return self._tax_ids(method, match.group(1), params)
                if method == "POST":
                    problem = _customer_update_problem(params)
                    if problem is not None:
                        return problem
                    customer.update(
                        {k: params[k] for k in ("email", "name", "address") if k in params}
                    )
                    customer["metadata"].update(params.get("metadata") or {})
                return 200, customer
            match = re.fullmatch(r"/v1/invoices/(in_[\w]+)(?:/(\w+))?", path)
            if match:
                return self._invoice_action(method, match.group(1), match.group(2), params)
            if (method, path) == ("GET", "/v1/invoices"):
                return self._list_invoices(params)
            if (method, path) == ("POST", "/v1/invoices/create_preview"):
                if not params.get("subscription"):
                    # The fake previews subscriptions only, which is all we ask it for.
                    return _error(400, "Missing required param: subscription.",
                                  param="subscription")  # fmt: skip
                return fake.preview_invoice(params["subscription"])
            return _error(404, f"Unrecognized request URL ({method}: {path}).")

        def _tax_ids(self, method: str, customer_id: str, params: dict[str, Any]):
            """`GET` and `POST /v1/customers/<id>/tax_ids`."""
            if method == "POST":
                problem = _tax_id_problem(params, param="")
                if problem is not None:
                    return problem
                return 200, fake.add_tax_id(customer_id, params)
            data = fake.tax_ids.get(customer_id, [])
            return 200, {"object": "list", "data": data, "has_more": False,
                         "url": f"/v1/customers/{customer_id}/tax_ids"}  # fmt: skip

        def _invoice_action(
            self, method: str, invoice_id: str, action: str | None, params: dict[str, Any]
        ) -> tuple[int, dict]:
            if invoice_id not in fake.invoices:
                return _error(404, f"No such invoice: '{invoice_id}'", param="id",
                              code="resource_missing")  # fmt: skip
            if method == "GET" and action is None:
                return 200, fake.invoices[invoice_id]
            actions = {
                "finalize": lambda: fake.finalize_invoice(invoice_id),
                "pay": lambda: fake.pay_invoice(invoice_id, params),
                "mark_uncollectible": lambda: fake.mark_uncollectible(invoice_id),
                "void": lambda: fake.void_invoice(invoice_id),
            }
            if method != "POST" or action not in actions:
                return _error(404, f"Unrecognized request URL ({method}: {self.path}).")
            return actions[action]()

        def _list_invoices(self, params: dict[str, Any]) -> tuple[int, dict]:
            """`GET /v1/invoices`: a customer's (or a subscription's) invoices, newest first."""
            try:
                limit = int(params.get("limit") or 10)
            except ValueError:
                return _error(400, "Invalid integer: limit", param="limit")
            if not 1 <= limit <= 100:
                return _error(400, "limit must be between 1 and 100.", param="limit")
            invoices = [
                invoice
                for invoice in reversed(fake.invoices.values())
                if params.get("customer") in (None, invoice["customer"])
                and params.get("status") in (None, invoice["status"])
                and params.get("subscription")
                in (None, invoice["parent"]["subscription_details"]["subscription"])
            ]
            return 200, {"object": "list", "data": invoices[:limit],
                         "has_more": len(invoices) > limit, "url": "/v1/invoices"}  # fmt: skip

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
            problem = _checkout_options_problem(params, fake.customers[customer])
            if problem is not None:
                return problem
            subscription_data = params.get("subscription_data") or {}
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
                "allow_promotion_codes": _flag(params.get("allow_promotion_codes")) or False,
                "payment_method_collection": params.get("payment_method_collection", "always"),
                "automatic_tax": {
                    "enabled": _flag((params.get("automatic_tax") or {}).get("enabled")) or False
                },
                "tax_id_collection": {
                    "enabled": _flag((params.get("tax_id_collection") or {}).get("enabled"))
                    or False
                },
                "_price": price,
                "_quantity": int(items[0].get("quantity") or 1),
                "_subscription_metadata": subscription_data.get("metadata", {}),
                "_trial_period_days": int(subscription_data.get("trial_period_days") or 0),
                "_trial_settings": subscription_data.get("trial_settings"),
                "_customer_update": params.get("customer_update") or {},
            }
            session["url"] = f"{fake.base_url}/pay/{session['id']}"
            fake.sessions[session["id"]] = session
            return 200, _public(session)

        # Hosted pages, played by the browser ----------------------------------------------

        def _hosted(self, method: str, body: str = "") -> bool:
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
            invoice_page = re.fullmatch(r"/invoice/([\w]+)", path)
            if invoice_page and invoice_page.group(1) in fake.invoices and method == "GET":
                self._send_html(_invoice_page(fake.invoices[invoice_page.group(1)]))
                return True
            if portal and portal.group(1) in fake.portal_sessions:
                session = fake.portal_sessions[portal.group(1)]
                running = [
                    subscription
                    for subscription in fake.subscriptions.values()
                    if subscription["customer"] == session["customer"]
                    and subscription["status"] in ("active", "trialing", "past_due")
                ]
                if method == "GET":
                    self._send_html(_portal_page(fake, session, running))
                    return True
                action = dict(parse_qsl(body)).get("action", "cancel")
                for subscription in running:
                    for event in fake.portal_action(subscription, action, session["customer"]):
                        fake.deliver(event)
                self._redirect(session["return_url"])
                return True
            return False

        def do_GET(self) -> None:
            if not self._hosted("GET"):
                self._api("GET")

        def do_POST(self) -> None:
            if not urlsplit(self.path).path.startswith("/v1/") and self._hosted(
                "POST", self._body()
            ):
                return
            self._api("POST")

        def do_DELETE(self) -> None:
            self._api("DELETE")

    return Handler


def _stripe_tax_id_types() -> frozenset[str]:
    """The customer tax ID types the API reference lists, as the SDK's types spell them."""
    hint = typing.get_type_hints(CustomerCreateParamsTaxIdDatum)["type"]
    literal = next(a for a in typing.get_args(hint) if typing.get_origin(a) is typing.Literal)
    return frozenset(typing.get_args(literal))


TAX_ID_TYPES = _stripe_tax_id_types()


def _tax_id_problem(data: Any, *, param: str) -> tuple[int, dict] | None:
    prefix = f"{param}" if param else ""
    if not isinstance(data, dict) or data.get("type") not in TAX_ID_TYPES:
        kind = data.get("type") if isinstance(data, dict) else data
        return _error(400, f"Invalid value for type: {kind}", param=f"{prefix}type")
    if not data.get("value"):
        return _error(400, "Missing required param: value.", param=f"{prefix}value")
    if data["type"] == "eu_vat" and not re.fullmatch(r"[A-Z]{2}[0-9A-Z+*]{2,12}", data["value"]):
        return _error(400, f"Invalid value for eu_vat: {data['value']}",
                      param=f"{prefix}value", code="tax_id_invalid")  # fmt: skip
    return None


def _customer_update_problem(params: dict[str, Any]) -> tuple[int, dict] | None:
    address = params.get("address")
    if (
        isinstance(address, dict)
        and address.get("country")
        and not re.fullmatch(r"[A-Z]{2}", address["country"])
    ):
        return _error(400, "Country must be a two-letter ISO code.", param="address[country]")
    for index, data in enumerate(params.get("tax_id_data") or []):
        problem = _tax_id_problem(data, param=f"tax_id_data[{index}][")
        if problem is not None:
            return problem
    custom_fields = (params.get("invoice_settings") or {}).get("custom_fields")
    return _custom_fields_problem(custom_fields, param="invoice_settings[custom_fields]")


def _custom_fields_problem(fields: Any, *, param: str) -> tuple[int, dict] | None:
    """Stripe's limits for an invoice's custom fields: up to 4, names up to 40 characters,
    values up to 140."""
    if fields in (None, ""):
        return None
    if not isinstance(fields, list) or len(fields) > 4:
        return _error(400, "You can have at most 4 custom fields.", param=param)
    for index, item in enumerate(fields):
        name, value = (item or {}).get("name") or "", (item or {}).get("value") or ""
        if not name or len(name) > 40:
            return _error(400, "A custom field's name has 1 to 40 characters.",
                          param=f"{param}[{index}][name]")  # fmt: skip
        if not value or len(value) > 140:
            return _error(400, "A custom field's value has 1 to 140 characters.",
                          param=f"{param}[{index}][value]")  # fmt: skip
    return None


def _subscription_create_problem(fake: FakeStripe, params: dict[str, Any]):
    """The API reference's rules for the subscription parameters we send."""
    customer = params.get("customer")
    if customer not in fake.customers:
        return _error(400, f"No such customer: '{customer}'", param="customer",
                      code="resource_missing")  # fmt: skip
    items = params.get("items") or []
    if not items or items[0].get("price") not in fake.prices:
        price = items[0].get("price") if items else None
        return _error(400, f"No such price: '{price}'", param="items[0][price]",
                      code="resource_missing")  # fmt: skip
    if not str(items[0].get("quantity") or "1").isdigit():
        return _error(400, "Invalid integer", param="items[0][quantity]")
    method = params.get("collection_method", "charge_automatically")
    if method not in ("charge_automatically", "send_invoice"):
        return _error(400, f"Invalid collection_method: {method}", param="collection_method")
    days = params.get("days_until_due")
    if method == "charge_automatically":
        if days is not None:
            return _error(400, "days_until_due can only be set when collection_method is "
                          "send_invoice.", param="days_until_due")  # fmt: skip
        return _error(400, "This fake starts card subscriptions at Checkout only.",
                      param="collection_method")  # fmt: skip
    if days is None or not str(days).isdigit() or not 0 <= int(days) <= 365:
        return _error(400, "days_until_due is required when collection_method is send_invoice, "
                      "from 0 to 365.", param="days_until_due")  # fmt: skip
    custom_fields = (params.get("invoice_settings") or {}).get("custom_fields")
    return _custom_fields_problem(custom_fields, param="invoice_settings[custom_fields]")
