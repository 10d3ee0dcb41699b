"""GET /account/organization."""

from __future__ import annotations

from typing import Any

from ..services import Services
from ..store import Sandbox


async def get_organization(services: Services, *, user: str, sandbox: Sandbox) -> tuple[dict[str, Any], int]:
    organization = (await sandbox.get(user)).organization
    return {field: organization[field] for field in services.organization_fields if field in organization}, 200
