"""The ceiling: a bare Starlette app that answers the mock's JSON, on the same uvicorn stack.

No authentication, no validation, no state: the answers for the demo key
``sk_test_paid_org`` are read from the fixtures once, at start-up. Whatever the mock
does per request costs the difference between its numbers and these.

    python benchmarks/ceiling.py PORT
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import orjson
import uvicorn
import yaml
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

ROOT = Path(__file__).resolve().parent.parent
KEY = "sk_test_paid_org"


def answers() -> tuple[bytes, bytes]:
    """GET /account/organization and POST /billing as the mock answers them for ``KEY``."""
    spec: Any = yaml.safe_load((ROOT / "openapi.yaml").read_text(encoding="utf-8"))
    entries: Any = yaml.safe_load((ROOT / "fixtures" / "organizations.yaml").read_text(encoding="utf-8"))
    organization = next(entry["organization"] for entry in entries if entry["apiKey"] == KEY)
    fields = spec["components"]["schemas"]["Organization"]["properties"]
    shown = {field: organization[field] for field in fields if field in organization}
    return orjson.dumps(shown) + b"\n", orjson.dumps(organization) + b"\n"


def build() -> Starlette:
    get_body, post_body = answers()

    async def get_organization(request: Request) -> Response:
        return Response(get_body, media_type="application/json")

    async def billing(request: Request) -> Response:
        await request.body()
        return Response(post_body, media_type="application/json")

    return Starlette(
        routes=[Route("/account/organization", get_organization), Route("/billing", billing, methods=["POST"])]
    )


def main() -> None:
    uvicorn.run(
        build(),
        host="127.0.0.1",
        port=int(sys.argv[1]),
        loop="auto",
        http="auto",
        log_level="warning",
        access_log=False,
        lifespan="on",
        server_header=False,
    )


if __name__ == "__main__":
    main()
