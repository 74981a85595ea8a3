"""Auth: cookie sessions, their expiry, Bearer keys, and account isolation."""

from __future__ import annotations

import time

import httpx

from pipeline.sandbox import account_credentials
from tests.pipeline.sandbox.sandbox_helpers import (
    ALL_PROJECT_STATUSES,
    SMALL,
    api_client,
    fails,
    get_truth,
    live_project_ids,
    ok,
)

COOKIE = "sb-sandbox-auth-token"


def _login(client: httpx.Client, index: int = 0, password: str | None = None) -> httpx.Response:
    email, real_password, _key = account_credentials(index)
    return client.post(
        "/api/auth/login", json={"email": email, "password": password or real_password}
    )


def test_no_credentials_is_unauthorized(tiny):
    with httpx.Client(base_url=tiny.base_url) as client:
        for path in ("/api/projects", "/api/onto/braindumps", "/api/daily-briefs/history"):
            fails(client.get(path), 401, "UNAUTHORIZED")
        fails(
            client.get("/api/projects", headers={"Cookie": f"{COOKIE}=made-up"}),
            401,
            "UNAUTHORIZED",
        )


def test_login_sets_a_session_cookie_that_works(tiny):
    with httpx.Client(base_url=tiny.base_url) as client:
        response = _login(client)
        user = ok(response)["user"]
        assert user["email"] == "demo@sandbox.local"
        assert COOKIE in response.cookies
        assert "HttpOnly" in response.headers["set-cookie"]
        projects = ok(client.get("/api/projects"))
        assert projects["projects"]


def test_login_rejects_a_wrong_password_or_a_bad_body(tiny):
    with httpx.Client(base_url=tiny.base_url) as client:
        fails(_login(client, password="not-the-password"), 401, "UNAUTHORIZED")
        assert COOKIE not in client.cookies
        fails(client.get("/api/projects"), 401, "UNAUTHORIZED")
        fails(client.post("/api/auth/login", json={"email": "demo@sandbox.local"}), 400)
        fails(client.post("/api/auth/login", content=b"{not json"), 400, "INVALID_REQUEST")


def test_sessions_expire_after_the_ttl(sandbox_factory):
    sandbox = sandbox_factory(session_ttl=0.5)
    with httpx.Client(base_url=sandbox.base_url) as client:
        ok(_login(client))
        ok(client.get("/api/projects"))
        time.sleep(0.7)
        fails(client.get("/api/projects"), 401, "SESSION_EXPIRED")
        # Logging in again gives a fresh session: the client's recovery path.
        ok(_login(client))
        ok(client.get("/api/projects"))


def test_admin_expire_ends_every_session(tiny):
    with httpx.Client(base_url=tiny.base_url) as client:
        ok(_login(client))
        ok(client.get("/api/projects"))
        assert ok(client.post("/__sandbox/sessions/expire"))["expired"] == 1
        fails(client.get("/api/projects"), 401, "SESSION_EXPIRED")


def test_bearer_keys_work_and_bad_keys_do_not(tiny):
    with api_client(tiny) as client:
        assert ok(client.get("/api/projects"))["projects"]
    # The key of an account that does not exist in this one-account sandbox is bad too.
    for header in ("Bearer boca_sandbox_nope", "Bearer x", "Bearer boca_sandbox_user2"):
        response = httpx.get(f"{tiny.base_url}/api/projects", headers={"Authorization": header})
        fails(response, 401, "UNAUTHORIZED")


def test_accounts_see_only_their_own_rows(shared):
    truth = get_truth(shared)
    first, second = truth["accounts"]
    assert (first["email"], second["email"]) == ("demo@sandbox.local", "user2@sandbox.local")
    with api_client(shared, 0) as one, api_client(shared, 1) as two:
        for client, own, other in ((one, first, second), (two, second, first)):
            listed = ok(client.get("/api/projects", params={"status": ALL_PROJECT_STATUSES}))
            assert {p["id"] for p in listed["projects"]} == set(live_project_ids(own))
            foreign = live_project_ids(other)[0]
            for path, params in (
                (f"/api/onto/projects/{foreign}", {}),
                (f"/api/onto/projects/{foreign}/tasks", {"bucket": "done"}),
                (f"/api/onto/projects/{foreign}/tasks/archived", {}),
                (f"/api/onto/projects/{foreign}/logs", {}),
                (f"/api/onto/projects/{foreign}/events", {}),
                ("/api/onto/edges", {"project_id": foreign}),
            ):
                fails(client.get(path, params=params), 404, "NOT_FOUND")
            dumps = ok(client.get("/api/onto/braindumps", params={"limit": 100}))
            assert dumps["total"] == len(own["braindumps"])
            own_dumps = {d["id"] for d in own["braindumps"]}
            assert {d["id"] for d in dumps["braindumps"]} <= own_dumps
            fails(client.get(f"/api/onto/braindumps/{other['braindumps'][0]['id']}"), 404)
            briefs = ok(client.get("/api/daily-briefs/history", params={"limit": 100}))
            assert briefs["pagination"]["total"] == len(own["briefs"])
            assert {b["user_id"] for b in briefs["briefs"]} == {own["account_id"]}
            calendar = ok(
                client.get(
                    "/api/calendar/items", params={"start": "2025-01-01", "end": "2027-01-01"}
                )
            )
            assert {i["project_id"] for i in calendar["items"]} <= set(live_project_ids(own))
    assert SMALL.accounts == 2
