"""The deployment's accounts, credentials and prices: its own, unlike the mock's.

Two accounts. ``main`` is a free organization with no Stripe customer until its
first POST /billing, reachable with a bearer key and a client id and secret;
``other`` is a paid organization with a subscription and a downgrade scheduled,
reachable with its bearer key.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Account:
    name: str
    key: str
    client_id: str | None
    client_secret: str | None
    organization: dict[str, Any]  # the fields of GET /account/organization
    billing: dict[str, Any]  # what POST /billing adds before a Stripe customer is known


MAIN = Account(
    name="main",
    key="pgk_live_3Fh8sK2pQ9wX7mLz4Tn6Rb1V",
    client_id="cli_northwind_6d1f0a",
    client_secret="sec_Jq7Vt2Xw9Lm4Pz8KcR5s",  # noqa: S106 (a demo secret of this test deployment)
    organization={
        "organizationId": "org_2Wq8ZkT4mN",
        "organizationType": "free",
        "creator": "ops@northwind-alerts.example",
        "name": "Northwind Alerts",
        "messagesCap": 3000,
        "costCap": 0,
        "smsCap": 0,
        "callCap": 0,
        "anniversaryDate": "2026-12-07",
        "allowOverage": False,
        "createdAt": "2025-02-07T14:03:11.482Z",
        "updatedAt": "2026-10-07T08:15:00.000Z",
    },
    billing={"status": "unverified"},
)

OTHER = Account(
    name="other",
    key="pgk_live_9Yt4WcE2hR7nB5vQ1xK8mJ3D",
    client_id=None,
    client_secret=None,
    organization={
        "organizationId": "org_8Hc3VbN1xY",
        "organizationType": "paid",
        "creator": "billing@brightline-health.example",
        "name": "Brightline Health",
        "messagesCap": 250000,
        "costCap": 300,
        "smsCap": 12000,
        "callCap": 1500,
        "anniversaryDate": "2026-12-19",
        "allowOverage": True,
        "createdAt": "2023-09-19T11:42:05.107Z",
        "updatedAt": "2026-11-19T16:20:44.931Z",
    },
    billing={
        "stripeCustomerId": "cus_QbR7tLm2Vx9KdE",
        "stripeSubscriptionId": "sub_1PqW8eLk3Zr5TyHn",
        "subscriptionStatus": "active",
        "status": "verified",
        "pendingDowngradeCostCap": 0,
        "pendingDowngradeMessagesCap": 3000,
        "pendingDowngradeSmsCap": 0,
        "pendingDowngradeCallCap": 0,
        "pendingDowngradeEffectiveDate": "2026-12-19",
        "pendingDowngradeAccountType": "free",
    },
)

ACCOUNTS = (MAIN, OTHER)

# One price per tier: the message tier (EMAIL, INAPP_WEB, WEB_PUSH, PUSH, SLACK) and the budget tier (SMS, CALL).
MESSAGE_PRICE = "price_1NwMsgTierEmailPush"
BUDGET_PRICE = "price_1NwBudTierSmsCall"
PRICE_TIERS = {MESSAGE_PRICE: "message", BUDGET_PRICE: "budget"}
