"""Determinism: the same seed, options and now give byte-identical answers; another seed
does not."""

from __future__ import annotations

import dataclasses

import httpx

from tests.pipeline.sandbox.sandbox_helpers import (
    ALL_PROJECT_STATUSES,
    TINY,
    api_client,
    bodies_of,
    ok,
    route_spread,
)


def test_same_seed_gives_byte_identical_bodies(sandbox_factory):
    first, second = sandbox_factory(TINY), sandbox_factory(TINY)
    with api_client(first) as client:
        paths = route_spread(client)
    assert len(paths) > 30
    assert bodies_of(first, paths) == bodies_of(second, paths)


def test_another_seed_gives_another_workspace(sandbox_factory):
    first = sandbox_factory(TINY)
    other = sandbox_factory(dataclasses.replace(TINY, seed=TINY.seed + 1))
    with api_client(first) as one, api_client(other) as two:
        projects = ok(one.get("/api/projects", params={"status": ALL_PROJECT_STATUSES}))
        others = ok(two.get("/api/projects", params={"status": ALL_PROJECT_STATUSES}))
        assert {p["id"] for p in projects["projects"]}.isdisjoint(
            {p["id"] for p in others["projects"]}
        )
        assert one.get("/api/onto/braindumps").content != two.get("/api/onto/braindumps").content
    truths = [httpx.get(f"{s.base_url}/__sandbox/truth").json()["data"] for s in (first, other)]
    assert truths[0]["accounts"][0]["account_id"] != truths[1]["accounts"][0]["account_id"]
    assert truths[0]["now"] == truths[1]["now"]
