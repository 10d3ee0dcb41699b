"""One request as the deployment saw it, and the answer it is about to send.

Faults and variants are functions of an :class:`Exchange`: they read what the
request was (operation, account, credential kind, state before it) and change the
:class:`Answer` before it is written.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

GET_ORGANIZATION = "GET /account/organization"
POST_BILLING = "POST /billing"


@dataclass
class Answer:
    status: int
    body: Any = None  # a JSON value; None with ``raw`` unset means no body
    media_type: str | None = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    raw: bytes | None = None  # bytes sent as they are, instead of ``body``
    indent: int | None = None
    ensure_ascii: bool = True
    delay: float = 0.0  # seconds to wait before answering

    def payload(self) -> bytes:
        if self.raw is not None:
            return self.raw
        if self.body is None:
            return b""
        text = json.dumps(self.body, allow_nan=False, indent=self.indent, ensure_ascii=self.ensure_ascii)
        return text.encode("utf-8")


@dataclass
class Exchange:
    operation: str  # GET_ORGANIZATION, POST_BILLING, or "METHOD /path" outside the document
    answer: Answer
    account: str | None = None  # "main" or "other" once the credentials are known
    credential: str | None = None  # "bearer" or "basic" as sent, when readable
    call: int = 0  # the n-th call of this operation by this account, from 1
    request: dict[str, Any] | None = None  # the JSON object sent to POST /billing, when it was one
    sessions_before: int = 0  # checkout sessions made for this account before this request
    posts_before: int = 0  # POST /billing answered 200 to this account before this request
    customer_created: bool = False  # this request created the account's Stripe customer
    request_number: int = 0  # the n-th request the deployment received, from 1
    main_has_called: bool = False  # the main account had a 200 answer before this request

    @property
    def is_error(self) -> bool:
        return self.answer.status >= 400

    @property
    def has_session(self) -> bool:
        body = self.answer.body
        return isinstance(body, dict) and "sessionId" in body

    def gave(self, name: str) -> bool:
        """Whether the POST /billing body carried ``name`` (a price id field)."""
        return self.request is not None and name in self.request


Rewrite = Callable[[Exchange], None]


class Entry(Protocol):
    @property
    def rewrite(self) -> Rewrite | None: ...


E = TypeVar("E", bound=Entry)


class Catalog(dict[str, E], Generic[E]):
    """Named switches, faults or variants, in the order they were written.

    An entry with a rewrite changes the correct answer after it is built; one without
    is a switch the deployment's logic reads, naming it through :meth:`switch`.
    """

    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind

    def rewrite(self, entry: Callable[[Rewrite], E]) -> Callable[[Rewrite], Rewrite]:
        """A decorator: the function, without its leading underscore, names the entry made around it."""

        def register(rewrite: Rewrite) -> Rewrite:
            self[rewrite.__name__.lstrip("_")] = entry(rewrite)
            return rewrite

        return register

    def switch(self, name: str) -> str:
        """``name``, checked to be in this catalog: a switch app.py reads cannot be misspelt."""
        if name not in self:
            raise KeyError(f"no {self.kind} {name!r} in the catalog")
        return name

    def apply(self, name: str | None, exchange: Exchange) -> None:
        rewrite = self[name].rewrite if name is not None else None
        if rewrite is not None:
            rewrite(exchange)
