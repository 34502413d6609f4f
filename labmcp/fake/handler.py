"""The fake LabArchives' pure core: one HTTP request in, one HTTP response out, no I/O.

Routing ``/api/<class>/<method>``, strict call authentication (§9.2), uid checks (§9.4) and error
bodies (§5.1) live here; the methods themselves are in ``methods``. Adapters pass the current real
time; ``FakeConfig.clock_offset_ms`` moves the fake's clock away from it.
"""

from __future__ import annotations

import hmac
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from labmcp.fake import login, methods, search_methods, webpage
from labmcp.fake.exchange import (
    PAST_SKEW_MS,
    XML_HEADERS,
    FakeConfig,
    FakeRequest,
    FakeResponse,
    LAError,
    error_response,
)
from labmcp.fake.methods import Call
from labmcp.fake.store import Store, User
from labmcp.fake.xmlwriter import El, request_echo, to_bytes
from labmcp.labarchives.signing import signature


@dataclass(frozen=True, slots=True)
class _Route:
    run: Callable[[Call], El | FakeResponse]
    needs_uid: bool = True
    signed: bool = True


ROUTES: dict[tuple[str, str], _Route] = {
    ("users", "user_access_info"): _Route(methods.user_access_info, needs_uid=False),
    ("users", "user_info_via_id"): _Route(methods.user_info_via_id),
    ("users", "max_file_size"): _Route(methods.max_file_size),
    ("notebooks", "notebook_info"): _Route(methods.notebook_info),
    ("tree_tools", "get_tree_level"): _Route(methods.get_tree_level),
    ("tree_tools", "get_node"): _Route(methods.get_node),
    ("tree_tools", "get_entries_for_page"): _Route(methods.get_entries_for_page),
    ("entries", "entry_info"): _Route(methods.entry_info),
    ("entries", "entry_attachment"): _Route(methods.entry_attachment),
    ("entries", "entry_thumb"): _Route(methods.entry_thumb),
    ("search_tools", "entry_search"): _Route(search_methods.entry_search),
    ("search_tools", "attachment_search"): _Route(search_methods.attachment_search),
    ("search_tools", "modified_since"): _Route(search_methods.modified_since),
    ("utilities", "epoch_time"): _Route(methods.epoch_time, needs_uid=False, signed=False),
    ("utilities", "api_base_urls"): _Route(methods.api_base_urls, needs_uid=False),
}


def split_path(path: str) -> tuple[str, str] | None:
    """``/api/<class>/<method>`` -> (class, method), else None."""
    parts = [p for p in path.split("/") if p]
    if len(parts) == 3 and parts[0] == "api":
        return parts[1], parts[2]
    return None


def _authenticate(
    store: Store, config: FakeConfig, method: str, params: Mapping[str, str], now: int, signed: bool
) -> None:
    """Check akid, expires and sig (§9.2); raises LAError with the auth status."""
    akid = params.get("akid")
    if not akid:
        raise LAError(4500, config.auth_status)
    password = store.akids.get(akid)
    if password is None:
        raise LAError(4506, config.auth_status)
    if not signed:
        return  # epoch_time needs the akid only (§2.2 [DOC])
    expires, sig = params.get("expires"), params.get("sig")
    if not expires or not sig:
        raise LAError(4500, config.auth_status)
    if not expires.isascii() or not expires.isdigit():
        raise LAError(4529, config.auth_status)
    if int(expires) < now - PAST_SKEW_MS:
        raise LAError(4504, config.auth_status)
    if int(expires) > now + config.future_skew_ms:
        # The real upper bound is unknown (§12.2); 4529 because "too old" would be a misleading text.
        raise LAError(4529, config.auth_status, "The expires parameter is too far in the future")
    candidates = [signature(akid, method, expires, password)]
    if config.accept_sha1:
        candidates.append(signature(akid, method, expires, password, hash_name="sha1"))
    if not any(hmac.compare_digest(sig.encode(), c.encode()) for c in candidates):
        raise LAError(4520, config.auth_status)


def _caller(store: Store, params: Mapping[str, str]) -> User:
    """The user behind ``uid``; unknown, revoked or bound to another akid → 4507 (§9.4)."""
    uid = params.get("uid")
    if not uid:
        raise LAError(4500)
    user = store.users.get(uid)
    if user is None or user.revoked or user.akid != params["akid"]:
        raise LAError(4507)
    return user


class FakeHandler:
    """Answers requests against a store under a (mutable) config."""

    def __init__(self, store: Store, config: FakeConfig) -> None:
        self.store = store
        self.config = config

    def handle(self, request: FakeRequest, now_ms: int) -> FakeResponse:
        """Answer one request at real time ``now_ms`` (the fake's clock adds ``clock_offset_ms``)."""
        config = self.config
        now = now_ms + config.clock_offset_ms
        if request.path.rstrip("/") == login.LOGIN_PATH:
            return login.handle(self.store, config, request, now)
        shown = webpage.page_ids(request.path) if config.web_pages_for and request.verb == "GET" else None
        if shown is not None and config.web_pages_for is not None:
            return webpage.render(self.store, config.web_pages_for, *shown)
        where = split_path(request.path)
        route = ROUTES.get(where) if where else None
        if where is None or route is None:
            return error_response(config, 4503, 404)
        api_class, method = where
        params = request.params
        try:
            _authenticate(self.store, config, method, params, now, route.signed)
            user = _caller(self.store, params) if route.needs_uid else None
            result = route.run(Call(self.store, config, params, user, now, request))
        except LAError as exc:
            return error_response(config, exc.code, exc.status, exc.description)
        if isinstance(result, FakeResponse):
            return result
        echo = request_echo(api_class, method, params)
        root = El(result.tag, result.text, result.attrs, (*result.children, echo))
        rng = None
        if config.shuffle_seed is not None:
            rng = random.Random(f"{config.shuffle_seed}:{method}")  # noqa: S311  # test determinism, not crypto
        return FakeResponse(200, XML_HEADERS, to_bytes(root, rng, keep_first=method == "epoch_time"))
