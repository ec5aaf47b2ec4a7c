"""Every Redis key the worker uses, and nothing else: the one place a key name is written.

Layout version 2 (``store_layout`` = "2"; ``python -m scripts.migrate_keys`` moves a version-1
database, whose per-user keys had no hash tag, to it). ``<id>`` is a user's id (16 hex
characters). The ``{...}`` part of a name is a Redis Cluster *hash tag*: every key of one user
carries ``{<id>}``, so they all live in one slot and one script may touch them together.

**Per user** (slot of ``{<id>}``; a Lua script may use any of these together):

==================================  ==========  ==============================================
key                                 type        content
==================================  ==========  ==============================================
``user:{<id>}``                     hash        username (as typed), password_hash (bcrypt),
                                                created_at (ISO), genres (JSON list); guests:
                                                username and password_hash "", guest "1"
                                                ("merging" while a log-in takes it over),
                                                last_seen (Unix ms); a converted guest: guest
                                                "0", signed_up_at (ISO)
``session:{<id>}:<sha256(token)>``  string      the user id; expires after SESSION_TTL_SECONDS
                                                (a guest's: GUEST_TTL_SECONDS, renewed on use).
                                                Tokens are ``<id>.<43 random chars>``; only a
                                                hash of the token is stored
``sessions:{<id>}``                 set         the user's session keys (to revoke them all)
``ratings:{<id>}``                  hash        movieId -> stars ("4.5")
``rated:{<id>}``                    sorted set  movieId scored by rated_at (Unix ms)
``ratings_version:{<id>}``          string      integer, +1 on every change of the ratings
``recs:{<id>}``                     hash        model version -> JSON recommendation list (top
                                                240, holding its ``ratings_version``), and
                                                ``rows:<model version>`` -> JSON rows of the
                                                home view built from it; deleted by every
                                                ratings change; expires after a day
``neighbour_of:{<id>}``             set         ids of users whose cached list has this user
                                                as a taste neighbour (so removing the user
                                                invalidates exactly those lists); expires with
                                                the caches
``query_recs:{<id>}:<digest>``      string      JSON "describe what you want" list; digest =
                                                sha256(model version, ratings version, query)
``query_recs_keys:{<id>}``          set         the user's ``query_recs:`` keys
``discover:{<id>}``                 hash        round (int), started_at: the discover loop
``discover_shown:{<id>}``           sorted set  movieId scored 100 x round + position
``discover_liked:{<id>}``           sorted set  ticked movieIds, same scores
``password_failures:{<id>}``        string      wrong passwords sent to /me/password, DELETE /me
``not_interested:{<id>}``           sorted set  movieIds marked "not interested", scored by when
                                                (Unix ms); part of the scoring profile, so a
                                                change bumps ``ratings_version`` like a rating
``watchlist:{<id>}``                sorted set  movieIds the user wants to watch, scored by when
                                                they were added (Unix ms)
==================================  ==========  ==============================================

**Global** (each in its own slot; never in a script together with another slot's key):

==================================  ==========  ==============================================
``username:<lowercase name>``       string      the user id (case-insensitive uniqueness). Valid
                                                only while ``user:{<id>}`` holds that username:
                                                a name pointing elsewhere is free (see
                                                :mod:`worker.store.users`)
``users``                           set         every user id (readers tolerate ids whose user
                                                is gone)
``guests``                          sorted set  guest ids by last use (Unix ms): the sweep's
                                                index; ``last_seen`` in the user hash decides
``rating_changes``                  stream      {user, version} per ratings change or removal
                                                (capped ~100k): every worker process reads it
                                                to keep its neighbour pool current
``{export}:user_ids``               hash        user id -> stable integer for ratings exports
``{export}:user_counter``           string      last integer handed out (same slot as above)
``login_failures:user:<name>``      string      failed logins for a lowercase username (window)
``login_failures:addr:<ip>``        string      failed logins from one client address
``signups:addr:<ip>``               string      sign-ups from one client address (window)
``guest_creations:addr:<ip>``       string      guests created from one client address
``legacy_session:<sha256(token)>``  string      user id of a token issued before layout 2 (no
                                                id inside it); written by the migration, expires
                                                with the session
``store_layout``                    string      "2": the layout of this database
==================================  ==========  ==============================================
"""

from __future__ import annotations

import hashlib

LAYOUT = "store_layout"
LAYOUT_VERSION = "2"

USERS = "users"
GUESTS = "guests"
CHANGES = "rating_changes"
CHANGES_MAXLEN = 100_000
EXPORT_IDS = "{export}:user_ids"
EXPORT_COUNTER = "{export}:user_counter"


def tag(user_id: str) -> str:
    """The hash tag of one user's keys."""
    return "{" + user_id + "}"


def user(user_id: str) -> str:
    return f"user:{tag(user_id)}"


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def session(user_id: str, token: str) -> str:
    """Sessions are found by the SHA-256 of the token, so a leaked dump holds no tokens."""
    return f"session:{tag(user_id)}:{token_digest(token)}"


def legacy_session(token: str) -> str:
    return f"legacy_session:{token_digest(token)}"


def sessions(user_id: str) -> str:
    return f"sessions:{tag(user_id)}"


def ratings(user_id: str) -> str:
    return f"ratings:{tag(user_id)}"


def rated(user_id: str) -> str:
    return f"rated:{tag(user_id)}"


def version(user_id: str) -> str:
    return f"ratings_version:{tag(user_id)}"


def recs(user_id: str) -> str:
    return f"recs:{tag(user_id)}"


def neighbour_of(user_id: str) -> str:
    return f"neighbour_of:{tag(user_id)}"


def query_recs(user_id: str, digest: str) -> str:
    return f"query_recs:{tag(user_id)}:{digest}"


def query_recs_index(user_id: str) -> str:
    return f"query_recs_keys:{tag(user_id)}"


def discover(user_id: str) -> str:
    return f"discover:{tag(user_id)}"


def discover_shown(user_id: str) -> str:
    return f"discover_shown:{tag(user_id)}"


def discover_liked(user_id: str) -> str:
    return f"discover_liked:{tag(user_id)}"


def password_failures(user_id: str) -> str:
    return f"password_failures:{tag(user_id)}"


def not_interested(user_id: str) -> str:
    return f"not_interested:{tag(user_id)}"


def watchlist(user_id: str) -> str:
    return f"watchlist:{tag(user_id)}"


def username(name: str) -> str:
    return f"username:{name.lower()}"


def login_failures(kind: str, who: str) -> str:
    """``kind`` "user" (``who`` a lowercase username) or "addr" (a client address)."""
    return f"login_failures:{kind}:{who}"


def signups(address: str) -> str:
    return f"signups:addr:{address}"


def guest_creations(address: str) -> str:
    return f"guest_creations:addr:{address}"


def user_keys(user_id: str) -> list[str]:
    """Every fixed-name key of one user (sessions and query lists are found via their
    indexes), in the order the removal script expects them."""
    return [
        user(user_id),
        sessions(user_id),
        query_recs_index(user_id),
        ratings(user_id),
        rated(user_id),
        version(user_id),
        recs(user_id),
        neighbour_of(user_id),
        discover(user_id),
        discover_shown(user_id),
        discover_liked(user_id),
        password_failures(user_id),
        not_interested(user_id),
        watchlist(user_id),
    ]
