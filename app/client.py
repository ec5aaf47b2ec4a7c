"""The app's only door to the worker: a small typed client for the REST API v1.

Every call goes over HTTP with a timeout (``AppConfig.timeout_seconds``) and either returns the
decoded JSON or raises one of two errors:

- ``WorkerUnavailable``: the worker did not answer (refused, timed out, reset) or answered with a
  5xx / a body that is not our JSON. The page tells the person and offers to retry.
- ``ApiError(status, code, message, fields)``: the worker answered with a 4xx error in the
  contract's shape ``{"error": {"status", "code", "message", "fields"}}``; ``retry_after`` holds
  the ``Retry-After`` seconds of a 429.

The client never talks to Redis and keeps no state besides the session token it is given and
the visitor's address chain, sent as ``X-Forwarded-For`` so the worker's per-address login
limit counts people, not the app (the worker reads it only when ``TRUSTED_PROXIES`` >= 1).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from http.cookiejar import DefaultCookiePolicy
from typing import Any
from urllib.parse import quote

import requests
import requests.adapters

from app.config import PAGE_SIZE, AppConfig
from recommender.document import Recommendation

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE"})
"""Methods the client may send again when a connection breaks (HTTP's idempotent methods)."""
IDEMPOTENT_ATTEMPTS = 3
RESEND_PAUSE_SECONDS = 0.1
"""An idempotent request is tried up to 3 times, 0.1 s then 0.2 s apart (a killed worker
process is replaced within about a second; the other process answers at once)."""


def _pooled_session() -> requests.Session:
    """One ``requests.Session`` per app process: keep-alive connections to the worker are
    reused by every visitor's client (urllib3's pool is thread-safe), instead of a new TCP
    connection per call."""
    session = requests.Session()
    session.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))  # never share cookies
    adapter = requests.adapters.HTTPAdapter(pool_connections=4, pool_maxsize=32, max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


_HTTP = _pooled_session()


class WorkerUnavailable(Exception):
    """The worker is down, too slow, or broken (no usable answer within the timeout).
    ``status`` is the HTTP status when it did answer (a 5xx, e.g. 503 while loading), else
    ``None`` (no connection, or no answer in time)."""

    def __init__(self, message: str, *, slow: bool = False, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.slow = slow
        self.status = status


@dataclass
class ApiError(Exception):
    """A 4xx answer from the worker, in the contract's error shape."""

    status: int
    code: str
    message: str
    fields: dict[str, Any] = field(default_factory=dict)
    retry_after: float | None = None

    def __post_init__(self) -> None:
        super().__init__(f"{self.status} {self.code}: {self.message}")

    def __str__(self) -> str:  # dataclass would otherwise print the repr-ish tuple
        return f"{self.status} {self.code}: {self.message}"


def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _recommendation(item: dict[str, Any]) -> dict[str, Any]:
    """An API recommendation read through the shared document type
    (:class:`recommender.document.Recommendation`): ``{"movie", "predicted_rating", "match",
    "reason", "reasons", "evidence"}`` with ``reasons`` a list of non-empty sentences."""
    return {"movie": item.get("movie") or {}, **Recommendation.from_api(item).shown_json()}


class WorkerClient:
    """Calls the worker's REST API v1 as one visitor (anonymous, or with a session ``token``).

    Inputs: a base URL such as ``http://127.0.0.1:8000`` and a timeout in seconds.
    Outputs: decoded JSON dicts exactly as ``docs/api.md`` describes.
    """

    def __init__(
        self,
        base_url: str,
        timeout_seconds: float,
        token: str | None = None,
        forwarded_for: str | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout_seconds = timeout_seconds
        self.token = token
        self.forwarded_for = forwarded_for

    @classmethod
    def from_config(
        cls, config: AppConfig, token: str | None = None, forwarded_for: str | None = None
    ) -> WorkerClient:
        return cls(
            config.worker_url, config.timeout_seconds, token=token, forwarded_for=forwarded_for
        )

    # -- transport ------------------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        json: dict[str, Any] | None = None,
        params: dict[str, Any] | None = None,
    ) -> dict[str, Any] | None:
        """Send one request to ``/api/v1{path}``; return the JSON body (None for 204)."""
        response = self._send(
            method,
            f"{self.base_url}/api/v1{path}",
            json=json,
            params=params,
            headers=self._headers("application/json"),
        )
        return self._decode(response)

    def _headers(self, accept: str) -> dict[str, str]:
        headers = {"Accept": accept}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        if self.forwarded_for:
            headers["X-Forwarded-For"] = self.forwarded_for
        return headers

    def _send(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        """One HTTP exchange with the timeout over the process's pooled connections;
        network failures become ``WorkerUnavailable``.

        An idempotent request (GET, PUT, DELETE) whose connection broke — refused, reset, or
        closed by a worker process that was killed or restarted — is sent again, so a
        person never sees one process's crash; a POST is never repeated. A timeout is not
        retried (the worker is slow, not gone)."""
        attempts = IDEMPOTENT_ATTEMPTS if method.upper() in IDEMPOTENT_METHODS else 1
        for attempt in range(1, attempts + 1):
            # A resend opens a fresh connection: idle pooled ones may lead to the same dead
            # process.
            send = _HTTP.request if attempt == 1 else requests.request
            try:
                return send(method, url, timeout=self.timeout_seconds, **kwargs)
            except requests.Timeout as exc:
                raise WorkerUnavailable(
                    f"No answer came within {self.timeout_seconds:g} seconds.", slow=True
                ) from exc
            except requests.RequestException as exc:
                if attempt == attempts:
                    raise WorkerUnavailable("No connection to it could be made.") from exc
                time.sleep(RESEND_PAUSE_SECONDS * attempt)
        raise AssertionError("unreachable")

    def _decode(self, response: requests.Response) -> dict[str, Any] | None:
        if response.status_code == 204:
            return None
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.status_code >= 500 or (response.status_code >= 400 and body is None):
            error = (body or {}).get("error", {}) if isinstance(body, dict) else {}
            message = error.get("message") if isinstance(error, dict) else None
            raise WorkerUnavailable(
                message or f"It answered with an error (HTTP {response.status_code}).",
                status=response.status_code,
            )
        if response.status_code >= 400:
            error = body.get("error", {}) if isinstance(body, dict) else {}
            if not isinstance(error, dict):
                error = {}
            raise ApiError(
                status=int(error.get("status") or response.status_code),
                code=str(error.get("code") or "error"),
                message=str(error.get("message") or f"Request failed ({response.status_code})."),
                fields=dict(error.get("fields") or {}),
                retry_after=_retry_after(response),
            )
        if not isinstance(body, dict):
            raise WorkerUnavailable("It sent an answer the app cannot read.")
        return body

    def health(self) -> None:
        """Raise ``WorkerUnavailable`` unless the worker's ``/healthz`` answers 200."""
        response = self._send("GET", f"{self.base_url}/healthz")
        if response.status_code != 200:
            raise WorkerUnavailable(f"It answered with an error (HTTP {response.status_code}).")

    def status(self) -> dict[str, Any]:
        """Which recommendations are served and the model build's progress (anonymous):
        ``{"serving", "model", "model_version", "message", "build": {...}}``."""
        return self.request("GET", "/status")

    # -- accounts -------------------------------------------------------------------------------

    def signup(self, username: str, password: str) -> dict[str, Any]:
        """Create an account; returns ``{"user": {"id", "username"}}``."""
        body = {"username": username, "password": password}
        return self.request("POST", "/auth/signup", json=body)

    def login(self, username: str, password: str) -> dict[str, Any]:
        """Log in; returns ``{"token", "expires_in", "user"}``."""
        body = {"username": username, "password": password}
        return self.request("POST", "/auth/login", json=body)

    def logout(self) -> None:
        """Revoke this client's token on the worker."""
        self.request("POST", "/auth/logout")

    def me(self) -> dict[str, Any]:
        """``{"user", "genres", "rating_count", "ratings_needed"}`` of the logged-in user."""
        return self.request("GET", "/me")

    # -- genres ---------------------------------------------------------------------------------

    def genres(self) -> list[str]:
        """Every genre name the catalogue knows (anonymous)."""
        return list(self.request("GET", "/genres")["genres"])

    def my_genres(self) -> list[str]:
        return list(self.request("GET", "/me/genres")["genres"])

    def set_my_genres(self, genres: list[str]) -> list[str]:
        """Replace the user's chosen genres; returns the stored list."""
        return list(self.request("PUT", "/me/genres", json={"genres": list(genres)})["genres"])

    # -- movies and ratings ---------------------------------------------------------------------

    def movies(
        self,
        *,
        query: str = "",
        genres: list[str] | None = None,
        page: int = 1,
        page_size: int = PAGE_SIZE,
        order: str | None = None,
        shown: int | None = None,
    ) -> dict[str, Any]:
        """A page of movies (title search ``query`` and/or ``genres``; else the user's genres)
        in ``order`` ("popular" or "onboarding"; ``None``: the worker's choice, named in the
        answer's ``order``); ``shown``: how many movies of the onboarding grid the person has
        seen (the grid adapts to their ratings after those; ``None``: the worker's default)."""
        params: dict[str, Any] = {"page": page, "page_size": page_size}
        if query.strip():
            params["q"] = query.strip()
        if genres:
            params["genres"] = ",".join(genres)
        if order:
            params["order"] = order
        if shown is not None:
            params["shown"] = int(shown)
        return self.request("GET", "/movies", params=params)

    def rate(self, movie_id: int, rating: float) -> dict[str, Any]:
        """Save a rating 0.5..5 (half steps); returns ``{"movie_id", "rating", "rated_at",
        "rating_count"}``."""
        return self.request("PUT", f"/me/ratings/{int(movie_id)}", json={"rating": float(rating)})

    def unrate(self, movie_id: int) -> None:
        """Remove the user's rating of ``movie_id``."""
        self.request("DELETE", f"/me/ratings/{int(movie_id)}")

    def my_ratings(self, *, page: int = 1, page_size: int = PAGE_SIZE) -> dict[str, Any]:
        """A page of ``{"movie", "rating", "rated_at"}``, newest first."""
        return self.request("GET", "/me/ratings", params={"page": page, "page_size": page_size})

    def recommendations(
        self,
        *,
        page: int = 1,
        page_size: int = PAGE_SIZE,
        query: str = "",
        filters: dict[str, Any] | None = None,
        discover: float | None = None,
    ) -> dict[str, Any]:
        """A page of ``{"movie", "predicted_rating", "match", "reason", "reasons", ...}``.

        Without ``query``: 422 ``not_enough_ratings`` below five ratings; ``discover``
        (0.0 familiar – 1.0 discover; ``None``: the worker's default) re-orders the whole list.
        With a free-text ``query`` ("a slow-burn space mystery"): the movies matching the
        description, ranked (also below five ratings, by content similarity then); the answer
        echoes ``query``. ``filters``: ``{"genres": [names], "q": title text, "year_from": int,
        "year_to": int}`` (each optional): only the matching movies, ranked for the person.
        """
        params: dict[str, Any] = {"page": page, "page_size": page_size}
        if query.strip():
            params["query"] = query.strip()
        filters = filters or {}
        if filters.get("genres"):
            params["genres"] = ",".join(filters["genres"])
        if str(filters.get("q") or "").strip():
            params["q"] = str(filters["q"]).strip()
        for name in ("year_from", "year_to"):
            if filters.get(name) is not None:
                params[name] = int(filters[name])
        if discover is not None and "query" not in params:
            params["discover"] = f"{float(discover):g}"
        answer = self.request("GET", "/me/recommendations", params=params)
        answer["items"] = [_recommendation(item) for item in answer.get("items") or []]
        return answer

    def rows(self) -> dict[str, Any]:
        """The home view: ``{"rows": [{"kind", "title", "reason", "items"}], ...}``, each item
        a recommendation as in :meth:`recommendations`; 422 ``not_enough_ratings`` below five
        ratings."""
        answer = self.request("GET", "/me/rows")
        for row in answer.get("rows") or []:
            row["items"] = [_recommendation(item) for item in row.get("items") or []]
        return answer

    # -- not interested and the watchlist --------------------------------------------------------

    def not_interested(self, movie_id: int) -> dict[str, Any]:
        """Mark a movie not interested: it leaves every list (a negative signal for the
        models). Returns ``{"movie_id", "listed", "changed", "count"}``."""
        return self.request("PUT", f"/me/not-interested/{int(movie_id)}")

    def interested_again(self, movie_id: int) -> dict[str, Any]:
        """Undo :meth:`not_interested`."""
        return self.request("DELETE", f"/me/not-interested/{int(movie_id)}")

    def want_to_watch(self, movie_id: int) -> dict[str, Any]:
        """Add a movie to the watchlist."""
        return self.request("PUT", f"/me/watchlist/{int(movie_id)}")

    def unwatch(self, movie_id: int) -> dict[str, Any]:
        """Remove a movie from the watchlist."""
        return self.request("DELETE", f"/me/watchlist/{int(movie_id)}")

    def watchlist(self, *, page: int = 1, page_size: int = PAGE_SIZE) -> dict[str, Any]:
        """A page of ``{"movie", "added_at"}``, the movie added last first."""
        return self.request("GET", "/me/watchlist", params={"page": page, "page_size": page_size})

    def movie(self, movie_id: int) -> dict[str, Any]:
        """One movie object (with ``my_rating`` when logged in)."""
        return self.request("GET", f"/movies/{quote(str(int(movie_id)))}")

    def similar(self, movie_id: int, k: int = 12) -> dict[str, Any]:
        """``{"items": [{"movie", "similarity" -1..1}], "source": "embed"|"sbert"}``: the ``k``
        movies most like ``movie_id``, most similar first."""
        return self.request("GET", f"/movies/{int(movie_id)}/similar", params={"k": int(k)})

    # -- insights (the plots the training and evaluation scripts made) --------------------------

    def taste(self) -> dict[str, Any]:
        """The person's taste against everyone's: ``{"rating_count", "my_mean",
        "everyone_mean", "genres": [{"genre", "count", "my_mean", "everyone_mean"}],
        "movies": [{"movie", "rating", "everyone_mean", "everyone_count"}]}`` (stars)."""
        return self.request("GET", "/me/taste")

    def plots(self) -> list[dict[str, Any]]:
        """The Insights page's plots, in page order: ``[{"name", "title", "caption", "url"}]``
        (empty until the models are built)."""
        return self.request("GET", "/insights/plots")["items"]

    def plot_image(self, name: str) -> bytes:
        """The PNG bytes of the plot ``name`` (from :meth:`plots`)."""
        url = f"{self.base_url}/api/v1/insights/plots/{quote(name, safe='')}"
        response = self._send("GET", url, headers=self._headers("image/png"))
        if response.status_code != 200:
            self._decode(response)  # raises the matching error
            raise WorkerUnavailable("It sent an answer the app cannot read.")
        return response.content

    # -- discover (tick what you like, five movies at a time) ----------------------------------

    def discover(self) -> dict[str, Any]:
        """The current round: ``{"items": [{"movie", "similarity"}] x5, "top_genres":
        [{"genre", "count"}], "liked": [ids], "round": n}``."""
        return self.request("GET", "/me/discover")

    def discover_next(self, liked: list[int], shown: list[int]) -> dict[str, Any]:
        """Send this round's ticks (``liked``) and the movies ``shown``; returns the next round
        in the same shape as :meth:`discover`."""
        body = {"liked": [int(m) for m in liked], "shown": [int(m) for m in shown]}
        return self.request("POST", "/me/discover", json=body)

    def discover_reset(self) -> None:
        """Forget the ticks and start discovering from the beginning."""
        self.request("DELETE", "/me/discover")

    # -- guests and the account's own data ------------------------------------------------------

    def guest(self) -> dict[str, Any]:
        """Start as a guest: ``{"token", "expires_in", "user": {"id", "username": None,
        "guest": True}}``. Sign-up with this client's (guest) token keeps everything; log-in
        with it merges the guest's ratings into the account."""
        return self.request("POST", "/auth/guest")

    def change_password(self, old_password: str, new_password: str) -> None:
        """Change the password; every other session of the account is revoked."""
        body = {"old_password": old_password, "new_password": new_password}
        self.request("PUT", "/me/password", json=body)

    def export_ratings(self) -> bytes:
        """My ratings, watchlist and not-interested movies as CSV bytes:
        ``movieId,title,rating,timestamp,list``, oldest first."""
        url = f"{self.base_url}/api/v1/me/ratings/export"
        response = self._send("GET", url, headers=self._headers("text/csv"))
        if response.status_code != 200:
            self._decode(response)  # raises the matching error
            raise WorkerUnavailable("It sent an answer the app cannot read.")
        return response.content

    def delete_account(self, password: str | None) -> None:
        """Delete the account and all its data (a guest sends no password)."""
        body = {} if password is None else {"password": password}
        self.request("DELETE", "/me", json=body)
