"""Hostile HTTP/1.1 requests, drawn from a seeded ``random.Random``: ``request(rng) -> (label, bytes)``.

Each request is a valid one of the API or of the ``/__mock__/`` routes, then
broken in one or two ways: its protocol (request line, chunking, lengths, line
endings), its headers (sizes, counts, encodings, credentials, ``Prefer``, media
types), its JSON (depth, numbers, surrogates, NaN, byte order marks, sizes), its
path or query, or random bytes. Nothing asks for a 5xx on purpose: ``Prefer``
never names a 5xx code, and the key of the organization whose Stripe always fails
is not used.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable

KEYS = ["sk_test_paid_org", "sk_test_free_org", "sk_test_downgrade_org", "sk_test_nobody", ""]
URL = "http://localhost:3000/billing/success?session_id={CHECKOUT_SESSION_ID}"
PREFERS = ["code=402", "code=400", "code=401", "code=200", "code=\u00b2\u00b2\u00b2", "code=\u2460\u2461\u2462",
           "delay=\u0663", "delay=" + "9" * 5000, "delay=-1", "example=paid", "example=price_not_found",
           "example=" + "x" * 3000, "return=minimal", "code=4 02", "code=402;delay=1", ",,,;;;=", "code=+402",
           "code=0x192", "delay=1_0", "example=\xff\xfe"]  # fmt: skip
TYPES = ["application/json", "APPLICATION/JSON", "Application/Json; Charset=UTF-8", "application/json; charset=latin-1",
         "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "", "application/json;;",
         "application/json; charset", "*/*", "application/jsonx", "\xe9/\xe9"]  # fmt: skip


def _bodies(rng: random.Random) -> bytes:
    depth = rng.choice([10, 900, 1100, 5000])
    pick: list[Callable[[], bytes]] = [
        lambda: json.dumps({"successUrl": URL, "cancelUrl": URL}).encode(),
        lambda: json.dumps({"messagePriceId": "price_message_growth", "successUrl": URL, "cancelUrl": URL}).encode(),
        lambda: json.dumps({"budgetPriceId": "price_message_growth", "successUrl": URL, "cancelUrl": URL}).encode(),
        lambda: b"[" * depth + b"]" * depth,
        lambda: b'{"a":' * depth + b"1" + b"}" * depth,
        lambda: b'{"successUrl": ' + b"9" * rng.choice([20, 4301, 10000]) + b', "cancelUrl": "x"}',
        lambda: b'{"successUrl": "http://a.example/\\ud800", "cancelUrl": "http://a.example/\\udfff"}',
        lambda: b'{"successUrl": NaN, "cancelUrl": Infinity}',
        lambda: b"\xef\xbb\xbf" + json.dumps({"successUrl": URL, "cancelUrl": URL}).encode(),
        lambda: b"\xff\xfe\xfd",
        lambda: json.dumps({"successUrl": "http://a.example/" + "x" * 70_000, "cancelUrl": URL}).encode(),
        lambda: json.dumps({"successUrl": "http://\u00e9\u00e9.example/\u2028", "cancelUrl": "javascript:1"}).encode(),
        lambda: json.dumps({"successUrl": "http://a.example/\r\nSet-Cookie: x", "cancelUrl": URL}).encode(),
        lambda: json.dumps({"successUrl": URL, "cancelUrl": URL, "messagePriceId": ["x"] * 100}).encode(),
        lambda: b"null",
        lambda: b"",
        lambda: bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 300))),
        lambda: b"action=pay",
        lambda: b"organizationId=org_paid_demo&status=" + rng.choice([b"402", b"\xc2\xb2", b"off", b"9" * 5000]),
    ]
    return rng.choice(pick)()


def _target(rng: random.Random) -> tuple[str, str]:
    return rng.choice([
        ("GET", "/account/organization"), ("POST", "/billing"), ("POST", "/billing"), ("GET", "/account/organization"),
        ("GET", "/__mock__/health"), ("GET", "/__mock__/requests?limit=" + rng.choice(["5", "\u00b2", "9" * 5000, "-1"])),
        ("POST", "/__mock__/sticky"), ("POST", "/__mock__/checkout/cs_test_" + "A" * rng.randint(0, 40)),
        ("GET", "/__mock__/checkout/%ff%fe"), ("GET", "/__mock__/"), ("GET", "/openapi.json"), ("GET", "/ui/"),
        ("GET", "/account/organization/"), ("GET", "//account//organization"), ("GET", "/%2e%2e/%2e%2e/etc/passwd"),
        ("GET", "/account/organization?" + "x=%ZZ&" * rng.randint(1, 50)), ("PUT", "/billing"), ("DELETE", "/billing"),
        ("OPTIONS", "/billing"), ("TRACE", "/"), ("GET", "/" + "a" * rng.choice([100, 9000])), ("POST", "/__mock__/reset"),
    ])  # fmt: skip


def _headers(rng: random.Random, method: str, body: bytes) -> list[tuple[bytes, bytes]]:
    key = rng.choice(KEYS)
    hosts = [b"127.0.0.1"] * 6 + [b"localhost:8080", b"[::1]", b"evil.example", b"", b"\xff"]  # mostly served
    headers = [(b"Host", rng.choice(hosts))]
    auth = rng.choice([f"Bearer {key}", f"bearer  {key}", "Basic !!!", "Basic Y2xpZW50X3BhaWRfb3JnOnNlY3JldF9wYWlkX29yZw==",
                       "Token x", "Bearer", "", "Bearer " + "k" * 5000])  # fmt: skip
    if auth:
        headers.append((b"Authorization", auth.encode("latin-1")))
    if rng.random() < 0.5:
        headers.append((b"Prefer", rng.choice(PREFERS).encode("utf-8", "surrogatepass")))
    if method in ("POST", "PUT") or rng.random() < 0.1:
        kind = rng.choice(TYPES)
        if kind:
            headers.append((b"Content-Type", kind.encode("utf-8")))
        headers.append((b"Content-Length", str(len(body)).encode()))
    if rng.random() < 0.2:
        headers.append((b"Origin", rng.choice([b"http://evil.example", b"null", b"http://localhost:3000"])))
    if rng.random() < 0.1:
        headers.append((b"Sec-Fetch-Site", b"cross-site"))
    headers.append((b"Connection", b"close"))
    return headers


def _protocol(rng: random.Random, request: bytes, body: bytes) -> tuple[str, bytes]:
    """Break the framing itself."""
    head = request.split(b"\r\n\r\n", 1)[0]
    choices: list[tuple[str, Callable[[], bytes]]] = [
        ("bad request line", lambda: b"GET\r\n\r\n"),
        ("no version", lambda: b"GET /account/organization\r\n\r\n"),
        ("HTTP/2 preface", lambda: b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"),
        ("HTTP/1.0", lambda: request.replace(b"HTTP/1.1", b"HTTP/1.0", 1)),
        ("HTTP/9.9", lambda: request.replace(b"HTTP/1.1", b"HTTP/9.9", 1)),
        ("bare LF", lambda: request.replace(b"\r\n", b"\n")),
        ("NUL in header", lambda: head + b"\r\nX-A: a\x00b\r\n\r\n" + body),
        ("header without colon", lambda: head + b"\r\nNoColonHere\r\n\r\n" + body),
        ("obs-fold", lambda: head + b"\r\nX-A: a\r\n b\r\n\r\n" + body),
        ("bad chunk size", lambda: head + b"\r\nTransfer-Encoding: chunked\r\n\r\nZZ\r\nab\r\n0\r\n\r\n"),
        ("huge chunk size", lambda: head + b"\r\nTransfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFFFFFF\r\nab\r\n0\r\n\r\n"),
        ("chunked body", lambda: head.replace(b"Content-Length", b"X-Was") + b"\r\nTransfer-Encoding: chunked\r\n\r\n"
         + f"{len(body):x}".encode() + b"\r\n" + body + b"\r\n0\r\n\r\n"),
        ("two lengths", lambda: head + b"\r\nContent-Length: 3\r\nContent-Length: 5\r\n\r\nabcde"),
        ("length and chunked", lambda: head + b"\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
        ("negative length", lambda: head.replace(b"Content-Length", b"X-Was") + b"\r\nContent-Length: -5\r\n\r\n"),
        ("length \u00b2", lambda: head.replace(b"Content-Length", b"X-Was") + "\r\nContent-Length: \u00b2\r\n\r\n".encode()),
        ("short body", lambda: request[: len(request) - max(1, len(body) // 2)] if body else request[:-2]),
        ("huge header", lambda: head + b"\r\nX-Big: " + b"a" * rng.choice([20_000, 200_000]) + b"\r\n\r\n" + body),
        ("many headers", lambda: head + b"".join(b"\r\nX-%d: 1" % i for i in range(rng.choice([150, 2000]))) + b"\r\n\r\n"),
        ("long header name", lambda: head + b"\r\n" + b"X" * 20_000 + b": 1\r\n\r\n" + body),
        ("truncated head", lambda: request[: rng.randint(1, len(head))]),
    ]  # fmt: skip
    label, make = rng.choice(choices)
    return label, make()


def request(rng: random.Random) -> tuple[str, bytes]:
    """One hostile request: (what was done to it, its bytes)."""
    method, target = _target(rng)
    body = _bodies(rng) if method in ("POST", "PUT") or rng.random() < 0.05 else b""
    headers = _headers(rng, method, body)
    lines = [f"{method} {target} HTTP/1.1".encode()] + [name + b": " + value for name, value in headers]
    data = b"\r\n".join(lines) + b"\r\n\r\n" + body
    roll = rng.random()
    if roll < 0.25:
        return _protocol(rng, data, body)
    if roll < 0.35:
        flipped = bytearray(data)
        for _ in range(rng.randint(1, 5)):
            flipped[rng.randrange(len(flipped))] = rng.getrandbits(8)
        return "flipped bytes", bytes(flipped)
    return f"{method} {target[:40]}", data
