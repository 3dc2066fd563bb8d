"""Tenant and application isolation in the fake, as the contract decides it.

A record of another tenant (or, for an app-scoped key, another app) is a 404 through get, is
absent from every list filter, and an idempotency key reused elsewhere never replays it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from edm_client import Client, NotFoundError
from edm_client.testing import FakeServer
from edm_client.types import LearningRecord

# Every record carries the same filterable values, so only scoping can tell them apart.
SHARED = {
    "person_id": "00000000-0000-4000-8000-0000000000aa",
    "provider": "AWS",
    "passed": True,
    "linked_cohort_id": "coh_01JD3W6Z5X6N9V7Q8R2T4Y1B0C",
    "linked_assessment_id": "asm_01JD3W6Z5X6N9V7Q8R2T4Y1B0C",
}
FILTERS: dict[str, dict[str, Any]] = {
    "none": {},
    **{name: {name: value} for name, value in SHARED.items()},
    "include_deleted": {"include_deleted": True},
    "all": {**SHARED, "include_deleted": True},
}


@dataclass
class World:
    server: FakeServer
    clients: dict[str, Client]
    records: dict[str, list[LearningRecord]]

    def ids(self, *callers: str) -> set[str]:
        return {r.id for caller in callers for r in self.records[caller]}

    def listed(self, caller: str, **filters: Any) -> set[str]:
        return {r.id for r in self.clients[caller].performance.learning_records.list(**filters)}


@pytest.fixture
def world() -> World:
    """Tenants A and B, each with a human and the same two application ids, and records."""
    server = FakeServer()
    tokens = {
        "a": server.issue_token(tenant_id="ten_a"),
        "a/app1": server.issue_token(tenant_id="ten_a", app_id="app_1"),
        "a/app2": server.issue_token(tenant_id="ten_a", app_id="app_2"),
        "b": server.issue_token(tenant_id="ten_b"),
        "b/app1": server.issue_token(tenant_id="ten_b", app_id="app_1"),
    }
    clients = {caller: server.client(token) for caller, token in tokens.items()}
    records = {
        caller: [
            client.performance.learning_records.create(title=f"{caller} #{n}", **SHARED)
            for n in range(3)
        ]
        for caller, client in clients.items()
    }
    # A soft-deleted record in each scope, for include_deleted.
    for caller in clients:
        server.soft_delete(records[caller][0].id, by="admin")
    return World(server, clients, records)


def test_writes_are_stamped_with_the_token_s_tenant_and_app(world: World) -> None:
    stamped = {(r.tenant_id, r.app_id) for r in world.records["a/app1"]}
    assert stamped == {("ten_a", "app_1")}
    assert {(r.tenant_id, r.app_id) for r in world.records["b"]} == {("ten_b", None)}


@pytest.mark.parametrize(
    ("caller", "foreign"),
    [
        ("b", "a"),
        ("b", "a/app1"),
        ("b/app1", "a/app1"),  # the same app id in another tenant is another app
        ("a", "b"),
        ("a/app1", "a/app2"),
        ("a/app1", "a"),  # a human's record is not the app's
        ("a/app2", "b/app1"),
    ],
)
def test_another_scope_s_record_is_a_404_through_get(
    world: World, caller: str, foreign: str
) -> None:
    get = world.clients[caller].performance.learning_records.get
    for record in world.records[foreign]:
        with pytest.raises(NotFoundError):
            get(record.id)


@pytest.mark.parametrize("filters", FILTERS.values(), ids=FILTERS.keys())
def test_a_tenant_lists_only_its_own_records_under_every_filter(
    world: World, filters: dict[str, Any]
) -> None:
    visible = world.listed("b", **filters)
    assert visible <= world.ids("b", "b/app1")
    assert visible.isdisjoint(world.ids("a", "a/app1", "a/app2"))
    assert visible


@pytest.mark.parametrize("filters", FILTERS.values(), ids=FILTERS.keys())
def test_an_app_scoped_key_lists_only_its_app_s_records_under_every_filter(
    world: World, filters: dict[str, Any]
) -> None:
    visible = world.listed("a/app1", **filters)
    assert visible
    assert visible <= world.ids("a/app1")


def test_a_human_session_sees_every_record_of_its_tenant(world: World) -> None:
    everything = world.ids("a", "a/app1", "a/app2")
    assert world.listed("a", include_deleted=True) == everything
    get = world.clients["a"].performance.learning_records.get
    assert {get(record_id).id for record_id in everything} == everything


def test_an_app_key_gets_its_own_records(world: World) -> None:
    get = world.clients["a/app2"].performance.learning_records.get
    assert {get(r.id).id for r in world.records["a/app2"]} == world.ids("a/app2")


@pytest.mark.parametrize(
    ("owner", "other"), [("a", "b"), ("a/app1", "b/app1"), ("a/app1", "a/app2")]
)
def test_an_idempotency_key_from_another_scope_never_replays_its_record(
    world: World, owner: str, other: str
) -> None:
    body = {"title": "Same key, same body", **SHARED}
    first = world.clients[owner].performance.learning_records.create(
        idempotency_key="shared-key", **body
    )
    raw = world.clients[other].performance.learning_records.with_raw_response.create(
        idempotency_key="shared-key", **body
    )
    second = raw.parse()
    assert raw.status_code == 201
    assert "idempotent-replayed" not in raw.headers
    assert second.id != first.id
    assert second.id in world.listed(other)
    assert second.id not in world.listed(owner)


def test_an_idempotency_key_from_another_tenant_with_another_body_is_no_conflict(
    world: World,
) -> None:
    # A 409 would tell tenant B that tenant A used this key: no existence leak.
    world.clients["a"].performance.learning_records.create(
        idempotency_key="k-1", title="A's", **SHARED
    )
    record = world.clients["b"].performance.learning_records.create(
        idempotency_key="k-1", title="B's", **SHARED
    )
    assert record.tenant_id == "ten_b"


def test_a_cursor_from_another_tenant_shows_only_the_caller_s_records(world: World) -> None:
    page = world.clients["a"].performance.learning_records.list(limit=1)
    assert page.next_cursor is not None
    visible = world.listed("b", cursor=page.next_cursor)
    assert visible <= world.ids("b", "b/app1")
