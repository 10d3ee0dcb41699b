"""``--record DIR``: the answers seen through the proxy, written as fixtures that ``--fixtures DIR`` loads.

One entry of ``organizations.yaml`` per organization, matched by the ``organizationId`` of the
answers, so a bearer key and a basic pair of one organization share one entry. Nothing derived
from a real credential is kept, on disk or in memory: an entry gets generated demo credentials
the first time its organization is seen, and keeps them. Each answer is authoritative for the
fields its schema gives it (a GET answer leaves the billing-only fields alone; a field its schema
gives but the answer lacks is dropped); a field of the wrong type, or one that holds or looks like
a secret, keeps its earlier value. The checkout session (``sessionId``, ``url``) is never kept.
``prices.yaml`` is the shipped catalog plus each price id a 2xx ``POST /billing`` was given.
The files are :mod:`mock_server.recording_files`.
"""

from __future__ import annotations

import logging
import math
import re
import secrets
from dataclasses import asdict
from pathlib import Path
from typing import Any

from .clock import Clock, format_timestamp
from .logs import log_failure
from .recording_files import RecordingFiles
from .schemas import compile_schema
from .spec import load_spec
from .upstream import credential_secrets

__all__ = ["CLOSING_SECONDS", "Recording"]

logger = logging.getLogger("mock_server.recording")

_NOT_KEPT = ("sessionId", "url")  # the checkout session: its url carries the session's token
_TIERS = {"messagePriceId": "message", "budgetPriceId": "budget"}
_CREDENTIALS = ("apiKey", "clientId", "clientSecret")
_PRICE_ID = re.compile(r"[A-Za-z0-9_.:-]{1,200}")
_LOOKS_SECRET = re.compile(
    r"(?<![A-Za-z0-9])(?:sk|rk|pk|cs)_(?:live|test)_|whsec_|eyJ[\w-]{8,}\.|^(?:bearer|basic)\s+[\w.~+/-]{12,}=*$", re.I
)
_LARGEST = 2**53  # beyond it a JSON number is not the same number in every client
_WRONG = "not of the type or format the document gives it"
CLOSING_SECONDS = 30


def _problem(value: Any, hidden: tuple[str, ...]) -> str | None:
    """Why ``value`` may not be written to a fixture, or None. Said without the value: a log line quotes it."""
    if isinstance(value, (dict, list)):
        return "not a single value, as the document gives every field"
    if (isinstance(value, float) and not math.isfinite(value)) or (isinstance(value, int) and abs(value) > _LARGEST):
        return "not a number a fixture can hold"
    if isinstance(value, str) and (len(value) > 2048 or not value.isprintable()):
        return "not printable text of at most 2048 characters"
    text = value if isinstance(value, str) else str(value)  # a number can be the credential too
    if _LOOKS_SECRET.search(text) or any(secret in text for secret in hidden):
        return "it holds or looks like a secret"
    return None


def _token(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(12)}"


class Recording:
    """The fixtures in ``folder``, read at start (a broken file is refused) and updated by :meth:`observe`."""

    def __init__(self, folder: Path, *, clock: Clock | None = None) -> None:
        spec = load_spec()
        self.folder = folder
        self._clock = clock or Clock()
        self._files = RecordingFiles(folder, spec)
        schema = spec.schema("BillingResponse")
        order = dict.fromkeys([*spec.schema("Organization")["properties"], *schema["properties"]])
        self._checks = {name: compile_schema(schema["properties"][name]) for name in order}
        self._required = tuple(schema["required"])
        self._fields = {
            f"{operation['method']} {operation['path']}": tuple(
                name for name in spec.response_fields(operation_id) if name not in _NOT_KEPT
            )
            for operation_id, operation in spec.operations.items()
        }
        self._templates = {price.tier: price for price in reversed(self._files.catalog.values())}

    def observe(self, credential: Any, operation: Any, request_body: Any, status: Any, body: Any) -> None:
        """Record one answer of the upstream; what cannot be recorded is skipped, and logged.

        Microseconds: a change is written to disk by the writer thread (:meth:`flush` waits for it).
        Safe to call from several threads.
        """
        try:
            with self._files.lock:
                self._observe(credential, operation, request_body, status, body)
        except Exception as error:  # the proxied answer must never fail because its recording did
            log_failure(logger, "recording: %.80s not recorded", operation, error=error)

    def _observe(self, credential: Any, operation: Any, request_body: Any, status: Any, body: Any) -> None:
        fields = self._fields.get(operation) if isinstance(operation, str) else None
        hidden = credential_secrets(credential)
        if fields is None or hidden is None or type(status) is not int or not 200 <= status < 300:
            reason = "unknown operation" if fields is None else "unknown credential" if hidden is None else "not 2xx"
            logger.warning("recording: %.80s (status %.10r) not recorded: %s", operation, status, reason)
            return
        added = self._add_prices(request_body, hidden) if operation == "POST /billing" else False
        if self._merge(operation, fields, body, hidden) or added or self._files.unwritten:
            self._files.changed(format_timestamp(self._clock.now()))

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until what was observed so far is on disk; False if ``timeout`` s passed first."""
        return self._files.flush(timeout)

    def close(self) -> None:
        """At shutdown: the last changes written, for up to :data:`CLOSING_SECONDS`."""
        if not self.flush(CLOSING_SECONDS):
            logger.error("recording: %s: the latest changes were not written within %d s", self.folder, CLOSING_SECONDS)

    def _merge(self, operation: str, fields: tuple[str, ...], body: Any, hidden: tuple[str, ...]) -> bool:
        """Fold the organization of an answer into its entry; True if the entry changed."""
        organization_id = body.get("organizationId") if isinstance(body, dict) else None
        if not isinstance(organization_id, str) or not organization_id or _problem(organization_id, hidden):
            logger.warning("recording: %s not recorded: the answer has no organizationId to record", operation)
            return False
        entry = self._files.entries.get(organization_id)
        organization = dict(entry["organization"]) if entry else {}
        for name in fields:
            if name not in body:
                organization.pop(name, None)
            elif problem := _problem(body[name], hidden) or (self._checks[name](body[name]) and _WRONG):
                logger.warning("recording: %s of %s kept as it was: %s", name, organization_id, problem)
            else:
                organization[name] = body[name]
        if missing := [name for name in self._required if name not in organization]:
            logger.warning("recording: %s not recorded: it lacks %s", organization_id, ", ".join(missing))
            return False
        new: dict[str, Any] = dict(entry) if entry else {"label": "recorded", "description": ""}
        if not entry or any(entry.get(key) in hidden for key in _CREDENTIALS):
            new.update(apiKey=_token("sk_test_rec"), clientId=_token("client_rec"), clientSecret=_token("secret_rec"))
        new["description"] = f"{organization['name']} (recorded)"
        new["organization"] = {name: organization[name] for name in self._checks if name in organization}
        if new == entry:
            return False
        self._files.entries[organization_id] = new
        return True

    def _add_prices(self, request_body: Any, hidden: tuple[str, ...]) -> bool:
        """Add each price id of a POST /billing body that ``prices.yaml`` lacks; True if one was added."""
        if not isinstance(request_body, dict):
            logger.warning("recording: the body of POST /billing is not a JSON object: no price recorded")
            return False
        added = False
        prices = self._files.prices
        for field, tier in _TIERS.items():
            price_id = request_body.get(field)
            if price_id is None or (isinstance(price_id, str) and prices.get(price_id, {}).get("tier") == tier):
                continue
            if not isinstance(price_id, str) or not _PRICE_ID.fullmatch(price_id) or _problem(price_id, hidden):
                logger.warning("recording: the %s of POST /billing is not a price id a fixture can hold", field)
            elif price_id in prices:
                logger.warning("recording: %s is not a %s-tier price in prices.yaml: kept as it is", price_id, tier)
            else:
                price = self._templates[tier]
                name = f"{price_id} (recorded)"
                prices[price_id] = {**asdict(price), "id": price_id, "name": name, "channels": list(price.channels)}
                added = True
        return added
