"""One re-login at a time: while a session is being renewed, new requests wait for it instead
of going out without a cookie, each coming back 401 (the expiry storm of issue 10)."""

from __future__ import annotations

import asyncio
import json

import httpx

from pipeline.buildos.client import BuildOSClient, ClientSettings

ACCOUNT = "00000000-0000-4000-8000-0000000000aa"


class Server:
    """Sessions by cookie; a login takes 200 ms, as a real one can."""

    def __init__(self):
        self.valid: str | None = None
        self.logins = 0
        self.unauthorized = 0
        self.expired = False

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/auth/login":
            await asyncio.sleep(0.2)
            self.logins += 1
            self.valid = f"token-{self.logins}"
            body = {"success": True, "data": {"user": {"id": ACCOUNT}}}
            headers = {"set-cookie": f"sb-test-auth-token={self.valid}; Path=/"}
            return httpx.Response(200, content=json.dumps(body), headers=headers)
        cookie = request.headers.get("cookie", "")
        if self.valid is None or f"sb-test-auth-token={self.valid}" not in cookie:
            self.unauthorized += 1
            body = {"success": False, "error": "expired", "code": "SESSION_EXPIRED"}
            return httpx.Response(401, content=json.dumps(body))
        if request.url.path == "/expire" and not self.expired:
            self.valid, self.expired = None, True  # the session expires, once
            self.unauthorized += 1
            body = {"success": False, "error": "expired", "code": "SESSION_EXPIRED"}
            return httpx.Response(401, content=json.dumps(body))
        return httpx.Response(200, content=json.dumps({"success": True, "data": {"ok": 1}}))


def test_requests_started_during_a_relogin_wait_for_it():
    server = Server()
    settings = ClientSettings(
        base_url="http://buildos.test", email="a@b.c", password="pw", max_concurrency=32
    )

    async def scenario() -> list[dict]:
        async with BuildOSClient(settings, transport=httpx.MockTransport(server)) as client:
            expiring = asyncio.ensure_future(client.get("/expire"))
            await asyncio.sleep(0.05)  # the re-login is under way now
            answers = await asyncio.gather(*[client.get(f"/item/{i}") for i in range(30)])
            return [await expiring, *answers]

    answers = asyncio.run(scenario())
    assert answers == [{"ok": 1}] * 31
    # The 30 requests started during the re-login waited for it: the only 401 is the expiry.
    assert (server.logins, server.unauthorized) == (2, 1)


class SlowServer(Server):
    """The same sessions, and every answer takes 20 ms, so that requests overlap on the wire
    as they do against a real server."""

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path != "/api/auth/login":
            await asyncio.sleep(0.02)
        return await super().__call__(request)


def test_an_expiry_with_30_requests_in_flight_costs_one_login_and_a_handful_of_401s():
    server = SlowServer()
    settings = ClientSettings(
        base_url="http://buildos.test", email="a@b.c", password="pw", max_concurrency=8
    )

    async def scenario() -> list[dict]:
        async with BuildOSClient(settings, transport=httpx.MockTransport(server)) as client:
            # 31 requests at once: 8 on the wire, the rest queued for a slot, when the session
            # expires under the first of them.
            paths = ["/expire", *[f"/item/{i}" for i in range(30)]]
            answers = await asyncio.gather(*[client.get(path) for path in paths])
            return answers, client.stats.as_dict()

    answers, stats = asyncio.run(scenario())
    assert answers == [{"ok": 1}] * 31
    # One re-login; a 401 only for the requests already on the wire with the expired session
    # (at most the 8 in flight), none for the 23 that were queued when it expired.
    assert server.logins == 2
    assert stats["logins"] == 2
    assert 1 <= server.unauthorized <= 8
    assert stats["retries_session"] == server.unauthorized
