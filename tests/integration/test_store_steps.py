"""The store's multi-step operations (Redis Cluster allows no transaction across slots) leave
nothing a reader would misread when they stop half-way; and no Lua script builds a key name.
Real Redis; the half-way states are made by running the first steps only."""

from __future__ import annotations

import re
import time

import pytest
import redis

from worker.limits import Limits
from worker.store import Store, keys, users
from worker.store.client import LUA_DIR

CREATED = "2026-01-01T00:00:00+00:00"


@pytest.fixture()
def store(redis_server):
    """A Store on the session's Redis, emptied before and after (these tests write no
    ``store_layout`` marker, which a worker started later on the same Redis would miss)."""
    client = redis.Redis.from_url(redis_server.url, decode_responses=True)
    client.flushdb()
    yield Store(client)
    client.flushdb()


def test_no_lua_script_builds_a_key_name():
    """Every key a script touches comes in KEYS (what Redis Cluster needs): no script joins a
    key prefix with ``..``, and every script names the keys it expects."""
    scripts = sorted(LUA_DIR.glob("*.lua"))
    assert len(scripts) >= 20
    built = re.compile(r"""['"][a-z_{}]*:['"]\s*\.\.|\.\.\s*['"]:""")
    for path in scripts:
        text = path.read_text()
        assert not built.search(text), f"{path.name} builds a key name"
        assert "KEYS[" in text or "ipairs(KEYS)" in text or "unpack(KEYS)" in text, path.name


def test_a_sign_up_stopped_before_it_finished_frees_its_name(store, monkeypatch):
    """Crash after the name was claimed but before the account was completed: the pending
    user hash expires, and then the name belongs to whoever signs up next."""
    monkeypatch.setattr(users, "PENDING_SECONDS", 1)
    half = "0123456789abcdef"
    assert store.scripts.create_user(keys=[keys.user(half)], args=["Zoe", "h", CREATED, 1])
    assert store.claim_username("Zoe", half)
    assert store.user_id_for("zoe") == half  # in the middle: taken
    assert store.create_user("ZOE", "h2", CREATED) is None
    time.sleep(1.2)
    assert store.user_id_for("zoe") is None  # the half-made account expired: name free
    done = store.create_user("zoe", "h2", CREATED)
    assert done is not None and store.user_id_for("Zoe") == done.id
    assert store.r.ttl(keys.user(done.id)) == -1  # a finished account does not expire


def test_a_removal_stopped_after_the_users_script_leaves_a_free_name(store):
    """Crash right after the user's keys were deleted: the name entry still points at the
    removed user, but nobody can log in with it, the name is free, and the id left in
    ``users`` is skipped by every reader."""
    gone = store.create_user("Max", "h", CREATED)
    store.set_rating(gone.id, 1, 4.0, 1000)
    out = store.scripts.remove_user(keys=keys.user_keys(gone.id), args=["password", "h", 0, 0])
    assert int(out[0]) == 1  # only the first step ran
    assert store.r.get(keys.username("max")) == gone.id
    assert store.user_id_for("max") is None
    assert store.profiles([gone.id]) == {gone.id: {}}
    assert store.export_ratings().empty
    again = store.create_user("max", "other", CREATED)
    assert again is not None and store.user_id_for("MAX") == again.id


def test_a_list_leaning_on_a_user_removed_meanwhile_is_not_kept(store):
    """The neighbour was removed between scoring and saving: the save drops the list."""
    me = store.create_user("me", "h", CREATED)
    store.set_rating(me.id, 1, 4.0, 1000)
    neighbour = "fedcba9876543210"  # no such user (removed meanwhile)
    doc = {"ratings_version": 1, "items": []}
    saved = store.save_recs(me.id, 1, doc, [{"user": f"app:{neighbour}"}], 60, "m@1")
    assert saved is False and store.cached_recs(me.id, store.ratings_version(me.id)) is None
    kept = store.save_recs(me.id, 2, {**doc, "ratings_version": 2}, [{"user": 7}], 60, "m@1")
    assert kept is True and store.cached_recs(me.id, 2, "m@1")["ratings_version"] == 2


def test_a_limit_of_several_counters_counts_nothing_when_one_is_full(store):
    limits = Limits(store.r)
    user, address = keys.login_failures("user", "ann"), keys.login_failures("addr", "10.0.0.1")
    assert limits.reserve([(user, 5), (address, 1)], 60) == 0
    wait = limits.reserve([(user, 5), (address, 1)], 60)  # the address counter is full
    assert 0 < wait <= 60
    assert store.r.get(user) == "1" and store.r.get(address) == "1"  # the user slot given back


def test_simultaneous_sign_ups_for_one_name_make_one_account(store):
    """Eight sign-ups for one name at once (some over a stale entry of a removed user): exactly
    one account gets it, the others get ``None`` and leave no user behind."""
    from concurrent.futures import ThreadPoolExecutor

    store.r.set(keys.username("popular"), "0000000000000000")  # a removed user's leftover
    with ThreadPoolExecutor(8) as pool:
        made = list(pool.map(lambda i: store.create_user("Popular", f"h{i}", CREATED), range(8)))
    winners = [u for u in made if u is not None]
    assert len(winners) == 1
    assert store.user_id_for("POPULAR") == winners[0].id
    assert store.all_user_ids() == [winners[0].id]
    assert sorted(k for k in store.r.scan_iter("user:*")) == [keys.user(winners[0].id)]
