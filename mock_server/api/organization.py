"""GET /account/organization."""

from __future__ import annotations

from typing import Any

from ..services import Services


async def get_organization(services: Services, *, user: str) -> tuple[dict[str, Any], int]:
    organization = services.store.get(user)
    return {field: organization[field] for field in services.organization_fields if field in organization}, 200
