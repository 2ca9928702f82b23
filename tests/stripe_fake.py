"""Stripe, faked at its HTTP boundary: a small server the Stripe library talks to over HTTP,
answering with bodies shaped like Stripe's real ones (fields and object names as Stripe's API
reference shows them), honouring `Idempotency-Key` as Stripe does (the same key gets the same
response), and able to fail on purpose (a 500, or an answer slower than the client waits).

Webhook events are built and signed here the way Stripe signs them (`t=...,v1=HMAC-SHA256`),
so the platform verifies real signatures.
"""

import hashlib
import hmac
import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

WEBHOOK_SECRET = "whsec_test_groundwork"  # noqa: S105
# Connect events come from an endpoint of their own, signed with its own secret.
CONNECT_WEBHOOK_SECRET = "whsec_test_groundwork_connect"  # noqa: S105


def _nested(pairs: list[tuple[str, str]]) -> dict:
    """Stripe's form encoding (`a[b][0][c]=1`) back into dicts (lists stay dicts keyed '0')."""
    root: dict = {}
    for key, value in pairs:
        parts = key.replace("]", "").split("[")
        node = root
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return root


@dataclass
class Failure:
    method: str
    path: str
    status: int = 500
    delay_seconds: float = 0.0
    times: int = 1


@dataclass
class FakeStripe:
    """The state of the fake: what was created, what was asked, what should fail next."""

    base_url: str = ""
    objects: dict[str, dict] = field(default_factory=dict)
    requests: list[dict] = field(default_factory=list)
    balance_transactions: list[dict] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    _by_idempotency_key: dict[str, tuple[int, dict]] = field(default_factory=dict)
    _counter: itertools.count = field(default_factory=lambda: itertools.count(1))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def new_id(self, prefix: str) -> str:
        return f"{prefix}_test{next(self._counter):06d}"

    def fail_next(
        self, method: str, path: str, *, status: int = 500, delay_seconds: float = 0, times=1
    ) -> None:
        """The next `times` calls of `method path` fail: with `status`, after `delay_seconds`.
        A delayed call still does its work first, as a call Stripe received but answered late."""
        self.failures.append(Failure(method, path, status, delay_seconds, times))

    def calls(self, method: str, path: str) -> list[dict]:
        return [r for r in self.requests if r["method"] == method and r["path"] == path]

    def reset(self) -> None:
        with self._lock:
            self.objects.clear()
            self.requests.clear()
            self.balance_transactions.clear()
            self.failures.clear()
            self._by_idempotency_key.clear()

    # --- what Stripe answers -----------------------------------------------------------------
    def handle(self, method: str, path: str, params: dict, idempotency_key: str | None):
        """(status, body, delay) for one request."""
        with self._lock:
            self.requests.append(
                {
                    "method": method,
                    "path": path,
                    "params": params,
                    "idempotency_key": idempotency_key,
                }
            )
            failure = next(
                (f for f in self.failures if f.method == method and f.path == path and f.times),
                None,
            )
            if idempotency_key and idempotency_key in self._by_idempotency_key and not failure:
                status, body = self._by_idempotency_key[idempotency_key]
                return status, body, 0
            if failure and failure.delay_seconds == 0:
                failure.times -= 1
                return failure.status, _error("api_error", "An error occurred with our API."), 0
            status, body = self._route(method, path, params)
            if idempotency_key and method == "POST" and status < 500:
                self._by_idempotency_key.setdefault(idempotency_key, (status, body))
                status, body = self._by_idempotency_key[idempotency_key]
            if failure:
                failure.times -= 1
                return status, body, failure.delay_seconds
            return status, body, 0

    def _route(self, method: str, path: str, params: dict) -> tuple[int, dict]:
        now = int(time.time())
        if (method, path) == ("POST", "/v1/checkout/sessions"):
            item = params["line_items"]["0"]
            amount = int(item["price_data"]["unit_amount"])
            session_id = self.new_id("cs")
            session = {
                "id": session_id,
                "object": "checkout.session",
                "amount_subtotal": amount,
                "amount_total": amount,
                "client_reference_id": params.get("client_reference_id"),
                "created": now,
                "currency": "usd",
                "expires_at": now + 86400,
                "livemode": False,
                "metadata": params.get("metadata", {}),
                "mode": "payment",
                "payment_intent": None,
                "payment_status": "unpaid",
                "status": "open",
                "success_url": params["success_url"],
                "cancel_url": params["cancel_url"],
                "url": f"https://checkout.stripe.com/c/pay/{session_id}#fidkdWxOYHwnPyd1blpxYHZxWjA0",
            }
            self.objects[session_id] = session
            return 200, session
        if (method, path) == ("POST", "/v1/accounts"):
            account_id = self.new_id("acct")
            account = {
                "id": account_id,
                "object": "account",
                "type": "express",
                "email": params.get("email"),
                "country": "US",
                "default_currency": "usd",
                "details_submitted": False,
                "charges_enabled": False,
                "payouts_enabled": False,
                "capabilities": {"transfers": "inactive"},
                "created": now,
                "metadata": params.get("metadata", {}),
                "requirements": {
                    "currently_due": [
                        "external_account",
                        "individual.dob.day",
                        "tos_acceptance.date",
                    ],
                    "disabled_reason": "requirements.past_due",
                },
                "external_accounts": {"object": "list", "data": [], "has_more": False},
            }
            self.objects[account_id] = account
            return 200, account
        if (method, path) == ("POST", "/v1/account_links"):
            account = params["account"]
            if account not in self.objects:
                return 400, _error("invalid_request_error", f"No such account: '{account}'")
            return 200, {
                "object": "account_link",
                "created": now,
                "expires_at": now + 300,
                "url": f"https://connect.stripe.com/setup/e/{account}/{self.new_id('link')}",
            }
        if (method, path) == ("POST", "/v1/transfers"):
            destination = params["destination"]
            if destination not in self.objects:
                return 400, _error("invalid_request_error", f"No such destination: '{destination}'")
            transfer_id = self.new_id("tr")
            transfer = {
                "id": transfer_id,
                "object": "transfer",
                "amount": int(params["amount"]),
                "amount_reversed": 0,
                "balance_transaction": self.new_id("txn"),
                "created": now,
                "currency": params.get("currency", "usd"),
                "description": None,
                "destination": destination,
                "destination_payment": self.new_id("py"),
                "livemode": False,
                "metadata": params.get("metadata", {}),
                "reversals": {"object": "list", "data": [], "has_more": False},
                "reversed": False,
                "source_transaction": None,
                "transfer_group": None,
            }
            self.objects[transfer_id] = transfer
            self.balance_transaction_add(
                source=transfer,
                amount=-transfer["amount"],
                type_="transfer",
                txn_id=transfer["balance_transaction"],
            )
            return 200, transfer
        if (method, path) == ("GET", "/v1/balance_transactions"):
            return 200, self._balance_transactions_page(params)
        return 404, _error("invalid_request_error", f"Unrecognized request URL ({method}: {path}).")

    def balance_transaction_add(
        self, *, source: dict, amount: int, type_: str, fee: int = 0, txn_id: str | None = None
    ) -> dict:
        """What Stripe's balance shows for a charge, refund, dispute or transfer."""
        txn = {
            "id": txn_id or self.new_id("txn"),
            "object": "balance_transaction",
            "amount": amount,
            "available_on": int(time.time()) + 2 * 86400,
            "created": int(time.time()),
            "currency": "usd",
            "description": None,
            "fee": fee,
            "net": amount - fee,
            "reporting_category": type_,
            "source": source["id"],
            "status": "pending",
            "type": type_,
            "_source": source,
        }
        self.balance_transactions.append(txn)
        return txn

    def _balance_transactions_page(self, params: dict) -> dict:
        created = params.get("created", {})
        low, high = int(created.get("gte", 0)), int(created.get("lt", 2**62))
        expand = "data.source" in params.get("expand", {}).values()
        rows = [t for t in self.balance_transactions if low <= t["created"] < high]
        rows.sort(key=lambda t: t["id"], reverse=True)
        if "starting_after" in params:
            ids = [t["id"] for t in rows]
            rows = rows[ids.index(params["starting_after"]) + 1 :]
        limit = int(params.get("limit", 10))
        data = [
            {
                k: (t["_source"] if k == "source" and expand else v)
                for k, v in t.items()
                if k != "_source"
            }
            for t in rows[:limit]
        ]
        return {
            "object": "list",
            "data": data,
            "has_more": len(rows) > limit,
            "url": "/v1/balance_transactions",
        }

    # --- webhooks ------------------------------------------------------------------------------
    def event(self, type_: str, obj: dict, *, account: str | None = None) -> dict:
        event = {
            "id": self.new_id("evt"),
            "object": "event",
            "api_version": "2024-06-20",
            "created": int(time.time()),
            "data": {"object": obj},
            "livemode": False,
            "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None},
            "type": type_,
        }
        if account:
            event["account"] = account
        return event

    # --- what payers and their banks do (top-ups, refunds, disputes) ---------------------------
    def checkout_session_pay(self, session_id: str) -> tuple[dict, dict, dict]:
        """The payer pays a Checkout Session by card: the session completes, its payment intent
        succeeds with one charge, and the charge shows in the balance less Stripe's fee
        (2.9% + 30¢). Returns (session, payment_intent, charge) as the webhooks carry them."""
        with self._lock:
            session = self.objects[session_id]
            now = int(time.time())
            amount = session["amount_total"]
            metadata = dict(session["metadata"])
            payment_intent_id, charge_id = self.new_id("pi"), self.new_id("ch")
            charge = {
                "id": charge_id,
                "object": "charge",
                "amount": amount,
                "amount_captured": amount,
                "amount_refunded": 0,
                "balance_transaction": self.new_id("txn"),
                "billing_details": {"email": "payer@example.com", "name": "A Payer"},
                "captured": True,
                "created": now,
                "currency": "usd",
                "customer": None,
                "description": None,
                "disputed": False,
                "livemode": False,
                "metadata": metadata,
                "paid": True,
                "payment_intent": payment_intent_id,
                "payment_method": self.new_id("pm"),
                "payment_method_details": {
                    "card": {
                        "brand": "visa",
                        "country": "US",
                        "exp_month": 12,
                        "exp_year": 2030,
                        "funding": "credit",
                        "last4": "4242",
                    },
                    "type": "card",
                },
                "receipt_url": f"https://pay.stripe.com/receipts/payment/{charge_id}",
                "refunded": False,
                "refunds": {
                    "object": "list",
                    "data": [],
                    "has_more": False,
                    "total_count": 0,
                    "url": f"/v1/charges/{charge_id}/refunds",
                },
                "status": "succeeded",
            }
            payment_intent = {
                "id": payment_intent_id,
                "object": "payment_intent",
                "amount": amount,
                "amount_capturable": 0,
                "amount_received": amount,
                "capture_method": "automatic_async",
                "client_secret": f"{payment_intent_id}_secret_test",
                "created": now,
                "currency": "usd",
                "customer": None,
                "latest_charge": charge_id,
                "livemode": False,
                "metadata": metadata,
                "payment_method": charge["payment_method"],
                "payment_method_types": ["card"],
                "status": "succeeded",
            }
            session.update(
                payment_intent=payment_intent_id,
                payment_status="paid",
                status="complete",
                url=None,
                customer_details={"email": "payer@example.com", "name": "A Payer"},
            )
            self.objects[payment_intent_id] = payment_intent
            self.objects[charge_id] = charge
        fee = (amount * 29 + 500) // 1000 + 30
        self.balance_transaction_add(
            source=charge,
            amount=amount,
            type_="charge",
            fee=fee,
            txn_id=charge["balance_transaction"],
        )
        return dict(session), dict(payment_intent), dict(charge)

    def checkout_session_expire(self, session_id: str) -> dict:
        """Nobody paid before the session's `expires_at`."""
        with self._lock:
            session = self.objects[session_id]
            session.update(status="expired", url=None)
            return dict(session)

    def charge_refund(self, charge_id: str, amount: int | None = None) -> dict:
        """Refund `amount` cents of a charge (all that is left when None). Returns the charge as
        `charge.refunded` carries it: `amount_refunded` is the total so far, newest refund first."""
        with self._lock:
            charge = self.objects[charge_id]
            amount = charge["amount"] - charge["amount_refunded"] if amount is None else amount
            refund = {
                "id": self.new_id("re"),
                "object": "refund",
                "amount": amount,
                "balance_transaction": self.new_id("txn"),
                "charge": charge_id,
                "created": int(time.time()),
                "currency": "usd",
                "metadata": {},
                "payment_intent": charge["payment_intent"],
                "reason": "requested_by_customer",
                "receipt_number": None,
                "status": "succeeded",
            }
            self.objects[refund["id"]] = refund
            charge["amount_refunded"] += amount
            charge["refunded"] = charge["amount_refunded"] == charge["amount"]
            refunds = charge["refunds"]
            refunds["data"].insert(0, refund)
            refunds["total_count"] = len(refunds["data"])
            snapshot = json.loads(json.dumps(charge))
        self.balance_transaction_add(
            source=refund, amount=-amount, type_="refund", txn_id=refund["balance_transaction"]
        )
        return snapshot

    def dispute_open(
        self, charge_id: str, *, amount: int | None = None, reason: str = "fraudulent"
    ) -> dict:
        """The payer's bank disputes a charge: Stripe withdraws the amount and a $15 fee."""
        with self._lock:
            charge = self.objects[charge_id]
            now = int(time.time())
            dispute = {
                "id": self.new_id("dp"),
                "object": "dispute",
                "amount": charge["amount"] if amount is None else amount,
                "balance_transactions": [],
                "charge": charge_id,
                "created": now,
                "currency": "usd",
                "evidence": {
                    "customer_name": None,
                    "product_description": None,
                    "uncategorized_text": None,
                },
                "evidence_details": {
                    "due_by": now + 7 * 86400,
                    "has_evidence": False,
                    "past_due": False,
                    "submission_count": 0,
                },
                "is_charge_refundable": False,
                "livemode": False,
                "metadata": {},
                "payment_intent": charge["payment_intent"],
                "reason": reason,
                "status": "needs_response",
            }
            charge["disputed"] = True
            self.objects[dispute["id"]] = dispute
        withdrawal = self.balance_transaction_add(
            source=dispute, amount=-dispute["amount"], type_="adjustment", fee=1500
        )
        dispute["balance_transactions"].append(withdrawal["id"])
        return json.loads(json.dumps(dispute))

    def dispute_close(self, dispute_id: str, *, status: str) -> dict:
        """The bank decides: `won` gives the amount back to the balance, `lost` keeps it."""
        with self._lock:
            dispute = self.objects[dispute_id]
            dispute["status"] = status
        if status == "won":
            reinstated = self.balance_transaction_add(
                source=dispute, amount=dispute["amount"], type_="adjustment"
            )
            dispute["balance_transactions"].append(reinstated["id"])
        return json.loads(json.dumps(dispute))


def _error(type_: str, message: str) -> dict:
    return {"error": {"type": type_, "message": message}}


def signature_header(
    payload: bytes, *, secret: str = WEBHOOK_SECRET, timestamp: int | None = None
) -> str:
    timestamp = int(time.time()) if timestamp is None else timestamp
    signed = f"{timestamp}.".encode() + payload
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def signed(event: dict, *, secret: str = WEBHOOK_SECRET) -> tuple[bytes, str]:
    """The body and `Stripe-Signature` header Stripe would send for this event."""
    payload = json.dumps(event).encode()
    return payload, signature_header(payload, secret=secret)


def serve(fake: FakeStripe) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

        def _answer(self) -> None:
            url = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode() if length else ""
            params = _nested(parse_qsl(url.query if self.command == "GET" else body))
            status, response, delay = fake.handle(
                self.command, url.path, params, self.headers.get("Idempotency-Key")
            )
            if delay:
                time.sleep(delay)
            data = json.dumps(response).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Request-Id", f"req_{fake.new_id('r')}")
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass

        do_GET = _answer
        do_POST = _answer
        do_DELETE = _answer

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    fake.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    return server
