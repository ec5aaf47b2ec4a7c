"""The worker on a real three-master Redis Cluster (``redis-server --cluster-enabled yes``,
started by scripts/redis_cluster.py): the journey, account life-cycle and pool-sync tests run
unchanged against it (imported here, so they use this module's ``make_worker_app``), plus the
durability test with every node killed, and the move of a layout-1 server into the cluster.

A user's keys live in one slot (hash tag ``{<user id>}``) and global keys in others, so these
journeys exercise every cross-slot path (sign-up, guest merge and removal, invalidating other
users' lists, rate limits, the change stream)."""

from __future__ import annotations

import pytest
import redis
from conftest import WORKER_TEST_CONFIG
from test_migrate_keys import ALICE, PASSWORD, migrate_to, write_layout_1
from test_worker_accounts import (  # noqa: F401  (collected here, run against the cluster)
    other_process,
    test_a_guest_deletes_itself_without_a_password,
    test_deleting_an_account_removes_every_key_and_every_neighbour_trace,
    test_login_from_a_guest_merges_ratings_newer_wins_and_removes_the_guest,
    test_password_change_needs_the_old_one_and_revokes_other_sessions,
    test_signup_from_a_guest_with_a_taken_name_or_bad_input_changes_nothing,
    test_two_tabs_logging_in_from_one_guest_merge_it_once,
    test_two_tabs_signing_up_one_guest_at_once_make_one_account,
    test_unused_guests_are_removed_everywhere_and_used_ones_stay,
)
from test_worker_auth import (  # noqa: F401
    test_repeated_failures_for_one_username_are_throttled,
    test_usernames_are_unique_ignoring_case,
)
from test_worker_durability import ratings_survive_a_crash, server_config
from test_worker_journey import (  # noqa: F401
    test_journey_from_signup_to_recommendations_and_logout,
    test_neighbour_pool_follows_other_users_ratings,
    test_probes_report_liveness_at_once_and_readiness_only_when_models_load,
)
from test_worker_movie_lists import (  # noqa: F401
    rated,
    test_a_full_list_refuses_one_more_with_409,
    test_deleting_the_account_removes_its_watchlist_and_not_interested,
    test_logging_in_from_a_guest_brings_its_lists_along,
    test_not_interested_leaves_every_list_at_once_and_undo_restores_it,
    test_watchlist_is_paged_newest_first_and_put_delete_are_idempotent,
)
from test_worker_sync import (  # noqa: F401
    test_a_rating_made_elsewhere_reaches_the_pool_at_the_next_sync,
    test_a_trimmed_stream_triggers_a_full_reload,
    two_processes,
)

from scripts.redis_cluster import LocalCluster, start_local_cluster
from worker.embedded_redis import start_embedded_redis
from worker.store import keys
from worker.store.client import make_client

API = "/api/v1"


@pytest.fixture(scope="module")
def redis_cluster(tmp_path_factory):
    """Three cluster-enabled ``redis-server`` masters, slots split evenly (module-wide)."""
    cluster = start_local_cluster(tmp_path_factory.mktemp("redis-cluster"))
    yield cluster
    cluster.stop()


@pytest.fixture()
def make_worker_app(redis_cluster, data_dir, empty_artifacts):
    """As tests/conftest.py's, on the cluster (``REDIS_URL=redis+cluster://...``), emptied
    first."""
    from worker.app import create_app

    def make(**overrides):
        redis_cluster.flush()
        config = {
            **WORKER_TEST_CONFIG,
            "REDIS_URL": redis_cluster.url,
            "ARTIFACTS_DIR": str(empty_artifacts),
            **overrides,
        }
        return create_app(config)

    return make


def test_the_store_really_spreads_over_three_masters(make_worker_app, worker_login):
    """The keys of different users land on different masters, each user's on one.

    User ids are random, so a handful of users can miss a master by chance (12 users miss
    one with probability 3·(2/3)¹² ≈ 2 %); people sign up until all three hold some, at
    most 60 (a miss then has probability 3·(2/3)⁶⁰ < 10⁻¹⁰)."""
    app = make_worker_app()
    client = app.test_client()
    store = app.extensions["store"]
    assert isinstance(store.r, redis.RedisCluster)

    def masters_holding_users():
        return {store.r.get_node_from_key(keys.user(u)).name for u in store.all_user_ids()}

    for i in range(60):
        worker_login(client, f"spread_{i}")
        if len(masters_holding_users()) == 3:
            break
    assert len(masters_holding_users()) == 3
    some = store.all_user_ids()[0]
    slots = {store.r.keyslot(k) for k in keys.user_keys(some)}
    assert len(slots) == 1


def test_ratings_survive_a_crash_of_every_node(tmp_path, make_worker_app, worker_login):
    """test_worker_durability.py's check on a cluster of its own: all three masters are
    killed (SIGKILL) right after acknowledged ratings and started again from their files
    (same ports and folders: each node rejoins with its slots and data)."""
    cluster = start_local_cluster(tmp_path / "cluster")
    try:
        assert all(server_config(node) == ("yes", "always") for node in cluster.nodes)
        ratings_survive_a_crash(
            make_worker_app(REDIS_URL=cluster.url),
            worker_login,
            crash=lambda: cluster.stop(kill=True),
            restart=cluster.start,
        )
    finally:
        cluster.stop()


def test_a_layout_1_server_moves_into_the_cluster(
    tmp_path, redis_cluster: LocalCluster, empty_artifacts
):
    """``scripts.migrate_keys --to redis+cluster://...`` copies a layout-1 server into the
    cluster as layout 2: the old account logs in there with its old token and password."""
    server = start_embedded_redis(tmp_path / "single")
    try:
        tokens = write_layout_1(redis.Redis.from_url(server.url))
        redis_cluster.flush()
        assert "migrated to key layout 2" in migrate_to(server.url, redis_cluster.url)
        from worker.app import create_app

        config = {
            **WORKER_TEST_CONFIG,
            "REDIS_URL": redis_cluster.url,
            "ARTIFACTS_DIR": str(empty_artifacts),
        }
        client = create_app(config).test_client()
        me = client.get(f"{API}/me", headers={"Authorization": f"Bearer {tokens['alice']}"})
        assert me.status_code == 200 and me.get_json()["user"]["id"] == ALICE
        assert me.get_json()["rating_count"] == 6
        login = {"username": "Alice", "password": PASSWORD}
        assert client.post(f"{API}/auth/login", json=login).status_code == 200
        cluster = make_client(redis_cluster.url)
        assert cluster.hget(keys.EXPORT_IDS, ALICE) == "1"
    finally:
        server.stop()
