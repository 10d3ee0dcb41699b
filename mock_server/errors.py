"""The error hierarchy and the one renderer of the documented error body.

Handlers raise an :class:`ApiError` subclass; every other failure (Connexion's
problems, Starlette's HTTP exceptions, undecodable bodies, non-conforming
answers, bugs) is mapped to one by :func:`to_api_error` and rendered by
:func:`render` as ``{"trackingId": ..., "error": {...}}`` in ``application/json``.
"""

from __future__ import annotations

import json
import logging
from typing import Any, ClassVar

from connexion.exceptions import (
    NonConformingResponse,
    ProblemException,
    UnsupportedMediaTypeProblem,
)
from starlette.exceptions import HTTPException

__all__ = [
    "ApiError",
    "BodyTooLarge",
    "ContractViolation",
    "CrossSiteRefused",
    "HostNotAllowed",
    "InternalError",
    "InvalidCredentials",
    "InvalidJson",
    "InvalidPrefer",
    "HeadersTooLarge",
    "InvalidUrl",
    "MalformedRequest",
    "RequestTimeout",
    "ServerBusy",
    "SandboxExists",
    "SandboxLimit",
    "SandboxNotFound",
    "StateUnavailable",
    "MalformedCredentials",
    "MethodNotAllowed",
    "MissingCredentials",
    "NotFound",
    "PriceNotFound",
    "PriceWrongTier",
    "ProviderError",
    "UnavailableInProxyMode",
    "UnsupportedMediaType",
    "UsageLimitExceeded",
    "ValidationFailed",
    "AdminForbidden",
    "render",
    "to_api_error",
]

logger = logging.getLogger("mock_server")


class ApiError(Exception):
    """An error answer: an HTTP status, a stable code, a message and a fix."""

    status_code: ClassVar[int] = 500
    code: ClassVar[str] = "internal_error"
    default_message: ClassVar[str] = "Something went wrong on our side."
    fix: ClassVar[str] = "Retry later; if it persists, report it with the trackingId."

    def __init__(
        self,
        message: str | None = None,
        *,
        fix: str | None = None,
        provider: str | None = None,
        provider_code: str | None = None,
    ) -> None:
        self.message = message or self.default_message
        super().__init__(self.message)
        if fix is not None:
            self.fix = fix  # type: ignore[misc]
        self.provider = provider
        self.provider_code = provider_code

    def headers(self) -> list[tuple[str, str]]:
        """Headers the answer carries besides the body's (``Retry-After``...)."""
        return []

    def body(self, tracking_id: str) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.fix:
            error["fix"] = self.fix
        if self.provider:
            error["provider"] = self.provider
        if self.provider_code:
            error["providerCode"] = self.provider_code
        return {"trackingId": tracking_id, "error": error}


class ValidationFailed(ApiError):
    status_code = 400
    code = "validation_error"
    default_message = "The request does not match the API schema."
    fix = "Check the request against the API reference (GET /openapi.yaml)."


class InvalidJson(ApiError):
    status_code = 400
    code = "invalid_json"
    default_message = "The request body is not valid UTF-8 JSON."
    fix = "Send a UTF-8 encoded JSON object with 'Content-Type: application/json'."


class BodyTooLarge(ApiError):
    status_code = 400
    code = "body_too_large"
    default_message = "The request body is too large."
    fix = "Send a body under the limit; a billing request is a few hundred bytes."


class InvalidUrl(ApiError):
    status_code = 400
    code = "invalid_url"
    default_message = "successUrl and cancelUrl must be absolute http(s) URLs."
    fix = "Pass full URLs such as https://app.example.com/billing/success."


class PriceNotFound(ApiError):
    status_code = 400
    code = "price_not_found"
    default_message = "No price with that id."
    fix = "Use a price id from the price catalog (mock-server --docs guide, section Prices)."


class PriceWrongTier(ApiError):
    status_code = 400
    code = "price_wrong_tier"
    default_message = "The price belongs to the other tier."
    fix = (
        "Pass message-tier prices (EMAIL, INAPP_WEB, WEB_PUSH, PUSH, SLACK) as "
        "messagePriceId and budget-tier prices (SMS, CALL) as budgetPriceId."
    )


class InvalidPrefer(ApiError):
    status_code = 400
    code = "invalid_prefer"
    default_message = "The Prefer header asks for something this operation cannot do."
    fix = "Use 'Prefer: code=NNN' with a documented status, 'example=NAME' or 'delay=MS'."


class MissingCredentials(ApiError):
    status_code = 401
    code = "missing_credentials"
    default_message = "No credentials were sent."
    fix = (
        "Send your secret API key as 'Authorization: Bearer <key>', or your client id and secret with HTTP basic auth."
    )


class InvalidCredentials(ApiError):
    status_code = 401
    code = "invalid_credentials"
    default_message = "The credentials were not recognised."
    fix = "Check the API key, or the client id and secret (demo credentials are in the README)."


class MalformedCredentials(ApiError):
    status_code = 401
    code = "malformed_credentials"
    default_message = "The Authorization header could not be read."
    fix = "Use 'Authorization: Bearer <key>' or 'Authorization: Basic base64(clientId:clientSecret)'."


class UsageLimitExceeded(ApiError):
    status_code = 402
    code = "usage_limit_exceeded"
    default_message = "The organization has reached its usage limits for this billing cycle."
    fix = "Upgrade the plan or allow overage, or wait until the billing cycle resets."


class AdminForbidden(ApiError):
    status_code = 403
    code = "admin_token_required"
    default_message = "The /__mock__/ routes need the admin token on this address."
    fix = "Send 'X-Admin-Token: <token>' with the value of --admin-token."


class CrossSiteRefused(ApiError):
    status_code = 403
    code = "cross_site_refused"
    default_message = "This /__mock__/ route changes state and refuses requests sent from another site."
    fix = "Use the mock's own pages, or send the request without Origin and Sec-Fetch-Site (curl, scripts, test code)."


class UnavailableInProxyMode(ApiError):
    status_code = 409
    code = "unavailable_in_proxy_mode"
    default_message = "This /__mock__/ route acts on the mock's own answers, and with --proxy the deployment answers."
    fix = "Start the mock without --proxy to use it; with --proxy, the deployment's own data decides its answers."


class ProxyModeOnly(ApiError):
    status_code = 409
    code = "proxy_mode_only"
    default_message = "This /__mock__/ route reports on a deployment's answers, and only --proxy forwards to one."
    fix = "Start the mock with --proxy URL to see what the deployment does that the document does not say."


class DriftNeedsOneProcess(ApiError):
    status_code = 409
    code = "drift_needs_one_process"
    default_message = "With --workers above 1, each process sees a part of the traffic: no drift report is kept."
    fix = "Start the proxy with one worker (the default) to keep the drift report."


class NoDriftReport(ApiError):
    status_code = 409
    code = "no_drift_report"
    default_message = "There is no file to save the drift report to."
    fix = "Start the mock with --drift-report FILE (.json or .md), or read the report with GET /__mock__/drift."


class NotFound(ApiError):
    status_code = 404
    code = "not_found"
    default_message = "No such route."
    fix = "See GET /openapi.yaml for the routes this API serves."


class MethodNotAllowed(ApiError):
    status_code = 405
    code = "method_not_allowed"
    default_message = "This route does not accept that method."
    fix = "See GET /openapi.yaml for the methods of each route."


class UnsupportedMediaType(ApiError):
    status_code = 415
    code = "unsupported_media_type"
    default_message = "The request body must be application/json."
    fix = "Send 'Content-Type: application/json'."


class MalformedRequest(ApiError):
    status_code = 400
    code = "malformed_request"
    default_message = "The request is not valid HTTP/1.1."
    fix = "Check the request line, the headers and the chunked encoding; most HTTP clients get them right."


class RequestTimeout(ApiError):
    status_code = 408
    code = "request_timeout"
    default_message = "The request did not arrive in time."
    fix = "Send the whole request promptly (limits: --header-timeout for the head, --body-timeout for the body)."


class HeadersTooLarge(ApiError):
    status_code = 431
    code = "headers_too_large"
    default_message = "The request line and headers are too large."
    fix = "Send fewer or shorter headers (limits: --max-header-bytes, --max-headers)."


class ServerBusy(ApiError):
    status_code = 503
    code = "server_busy"
    default_message = "The server has as many connections open as it takes."
    fix = "Retry in a moment, or close idle connections (limit: --max-connections)."


class StateUnavailable(ApiError):
    """The state (SQLite, Redis) is busy or unreachable: the request waited as long as ``--state-timeout``."""

    status_code = 503
    code = "state_unavailable"
    default_message = "The mock's state did not answer in time."
    fix = "Retry in a moment; if it persists, check the --state backend (mock-server --docs state)."

    def headers(self) -> list[tuple[str, str]]:
        return [("Retry-After", "1")]


class SandboxLimit(ApiError):
    """As many sandboxes as ``--max-sandboxes`` exist: one must expire or be dropped first."""

    status_code = 429
    code = "sandbox_limit_reached"
    default_message = "No more sandboxes can be made now."
    fix = (
        "Drop sandboxes you no longer need (DELETE /__mock__/sandboxes/NAME), wait for idle ones to expire "
        "(--sandbox-ttl), or start the mock with a higher --max-sandboxes."
    )

    def __init__(self, message: str | None = None, *, retry_after: int = 1) -> None:
        super().__init__(message)
        self.retry_after = retry_after

    def headers(self) -> list[tuple[str, str]]:
        return [("Retry-After", str(self.retry_after))]


class SandboxNotFound(ApiError):
    status_code = 404
    code = "sandbox_not_found"
    default_message = "There is no sandbox of that name."
    fix = "List the sandboxes with GET /__mock__/sandboxes; an idle sandbox expires after --sandbox-ttl."


class SandboxExists(ApiError):
    status_code = 409
    code = "sandbox_exists"
    default_message = "A sandbox of that name exists already."
    fix = "Pick another name, leave the name out for a generated one, or drop the sandbox first."


class HostNotAllowed(ApiError):
    status_code = 421
    code = "host_not_allowed"
    default_message = "This mock does not answer for that Host."
    fix = (
        "Use localhost or 127.0.0.1, or start the mock with --allowed-hosts and the name "
        "(comma-separated; * answers any)."
    )


class InternalError(ApiError):
    """The catch-all: the message never carries internals."""


class ProviderError(ApiError):
    status_code = 502
    code = "provider_error"
    default_message = "The payment provider failed to process the request."
    fix = "Retry later; nothing was charged."


class ContractViolation(ApiError):
    status_code = 502
    code = "contract_violation"
    default_message = "The deployment's answer breaks the contract."
    fix = "See the request in GET /__mock__/requests or on the dashboard; without --proxy-strict it passes through."


def _from_http(exc: HTTPException, authorization: str | None) -> ApiError:
    """Connexion's problems and Starlette's HTTP errors, by class, then by status."""
    if isinstance(exc, UnsupportedMediaTypeProblem):
        return UnsupportedMediaType()
    status = exc.status_code
    mapped = _BY_STATUS.get(status)
    if mapped is not None:
        return mapped()
    if 400 <= status < 500:
        return ValidationFailed()
    return InternalError()


_BY_STATUS: dict[int, type[ApiError]] = {
    401: MissingCredentials,
    404: NotFound,
    405: MethodNotAllowed,
    415: UnsupportedMediaType,
}


def to_api_error(exc: BaseException, authorization: str | None = None, tracking_id: str = "-") -> ApiError:
    """Map any exception to the :class:`ApiError` that describes it to the caller.

    Our own failures (a non-conforming answer, a bug) are logged with the trackingId.
    """
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, UnicodeDecodeError):
        return InvalidJson("The request body is not valid UTF-8.")
    if isinstance(exc, json.JSONDecodeError):
        return InvalidJson()
    if isinstance(exc, NonConformingResponse):
        logger.error("answer does not conform to openapi.yaml, trackingId=%s: %s", tracking_id, exc.detail)
        return InternalError()
    if isinstance(exc, (ProblemException, HTTPException)):
        return _from_http(exc, authorization)
    logger.error("unhandled exception, trackingId=%s", tracking_id, exc_info=exc)
    return InternalError()


def render(error: ApiError, tracking_id: str) -> bytes:
    """The documented error body, encoded."""
    return json.dumps(error.body(tracking_id), separators=(",", ":")).encode()
