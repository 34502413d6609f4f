"""The LabArchives wire protocol without I/O: signed URLs in, typed errors out (§1.2, §2, §5).

Pure functions over plain data, so the whole request/response contract is tested without sockets.
The only secret that reaches a URL is the signature (and, for ``user_access_info``, the app token);
neither is ever put into an error message: errors are built from the method name and the
LabArchives code alone.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Final
from urllib.parse import quote, unquote_plus

from labmcp.errors import (
    AuthenticationError,
    InvalidRequestError,
    LabArchivesError,
    PermissionDeniedError,
    ResourceMissingError,
    UpstreamError,
)
from labmcp.labarchives.signing import signature

AUTH_CODES: Final = frozenset({4504, 4506, 4507, 4514, 4520, 4522, 4533})
PERMISSION_CODES: Final = frozenset({4501, 4502, 4547})
MISSING_CODES: Final = frozenset({4509, 4511, 4512, 4517, 4528})
EXPIRED_CODE: Final = 4504
SEARCH_METHODS: Final = frozenset({"entry_search", "attachment_search", "modified_since"})

# Meanings of the codes a reader meets (§5.2); shown to the assistant next to the code, so the
# error says what went wrong even when LabArchives' own description is empty.
CODE_MEANINGS: Final = {
    4500: "a mandatory parameter is missing",
    4501: "the user has no right to read this item",
    4502: "the user has no right to modify this item",
    4503: "the API method does not exist",
    4504: "the request's expires time is too old (clock skew)",
    4506: "the access key id (akid) is not valid",
    4507: "no user for this uid (it may have been revoked)",
    4509: "the notebook id is not valid",
    4511: "the entry has no attachment",
    4512: "the entry was not found",
    4514: "login email or app token is incorrect or expired",
    4517: "the page was not found",
    4520: "the signature is not valid (check the access password)",
    4522: "the call is not allowed with alternate authentication",
    4527: "unsupported entry type",
    4528: "the comment was not found",
    4529: "a parameter has an invalid value",
    4533: "the session timed out",
    4547: "the user does not have rights to perform this action",
    4999: "LabArchives reported an unexpected internal failure",
}

_MAX_DESCRIPTION = 200


@dataclass(frozen=True, slots=True)
class Call:
    """One API call: ``/api/<api_class>/<method>`` with its method parameters (no auth params)."""

    api_class: str
    method: str
    params: tuple[tuple[str, str], ...] = ()
    signed: bool = True

    @classmethod
    def of(cls, api_class: str, method: str, params: Mapping[str, str | int | bool | None] | None = None) -> Call:
        """Build a call, dropping None values and spelling booleans ``true``/``false`` (§1.2)."""
        items: list[tuple[str, str]] = []
        for key, value in (params or {}).items():
            if value is None:
                continue
            text = ("true" if value else "false") if isinstance(value, bool) else str(value)
            items.append((key, text))
        return cls(api_class, method, tuple(items), signed=not (api_class == "utilities" and method == "epoch_time"))


def _query(pairs: Iterable[tuple[str, str]]) -> str:
    # Each value is percent-encoded exactly once, ``+``, ``/`` and ``=`` included (§2.2, §8.2).
    return "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in pairs)


def build_url(
    api_base: str, call: Call, akid: str, password: str, expires_ms: int, *, hash_name: str = "sha512"
) -> str:
    """The full request URL: method parameters, then ``akid``, ``expires`` and the signature.

    ``utilities/epoch_time`` takes the akid only (§2.2). The signed message is
    ``akid + method + expires`` with the method name alone, never the class (§2.2 [DOC]).
    """
    pairs = list(call.params)
    pairs.append(("akid", akid))
    if call.signed:
        sig = signature(akid, call.method, expires_ms, password, hash_name="sha1" if hash_name == "sha1" else "sha512")
        pairs += [("expires", str(expires_ms)), ("sig", sig)]
    return f"{api_base.rstrip('/')}/{call.api_class}/{call.method}?{_query(pairs)}"


def corrected_expires(local_ms: int, offset_ms: int) -> int:
    """``expires`` is the current server time in ms, i.e. local time plus the synced offset (§2.4)."""
    return local_ms + offset_ms


ERROR_BODY_BYTES: Final = 64 * 1024
"""How much of an error body is read: the code and description sit near its start (§5.1)."""

_CODE_RE = re.compile(rb"<error-code[^>]*>\s*([0-9]{1,6})\s*</error-code>")
_DESC_RE = re.compile(rb"<error-description[^>]*>(.*?)</error-description>", re.DOTALL)
_TAGS = re.compile(r"<[^>]*>")
_UNSAFE_CHARS = re.compile(r"[^\w\s.,;:()'\-/]", re.UNICODE)


def parse_error_body(body: bytes, secrets: Iterable[str] = ()) -> tuple[int | None, str]:
    """The ``<error-code>`` and ``<error-description>`` of an error body (§5.1), found by pattern.

    A regex, not an XML parser: error bodies come with failing statuses where anything may arrive,
    and the two fields are flat text. A proxy or WAF page may echo our request, so the description
    is scrubbed (``scrub``) before it is stripped of markup and shortened.
    """
    head = body[:ERROR_BODY_BYTES]
    code_match = _CODE_RE.search(head)
    desc_match = _DESC_RE.search(head)
    code = int(code_match.group(1)) if code_match else None
    desc = desc_match.group(1).decode("utf-8", errors="replace") if desc_match else ""
    desc = scrub(_TAGS.sub(" ", html.unescape(_TAGS.sub(" ", desc))), secrets)
    desc = " ".join(_UNSAFE_CHARS.sub(" ", desc).split())[:_MAX_DESCRIPTION]
    return code, desc


_ERROR_DOCUMENT = re.compile(rb"^(\xef\xbb\xbf)?\s*(<\?xml[^>]{0,200}\?>\s*)?<error[\s>]")


def is_error_document(body: bytes) -> bool:
    """True for an ``<error>`` document (§5.1), which a proxy or LabArchives may send with a 200 in
    place of a file: it must become an error, never an attachment's content."""
    return bool(_ERROR_DOCUMENT.match(body[:512]))


# Names whose values are credentials or request identity wherever they appear (query, form, JSON,
# a WAF's "param: value" echo). Every value of a URL query is removed too, whatever its name.
_CREDENTIAL_NAMES = (
    r"sig|signature|expires|akid|uid|password|passwd|pwd|token|access_token|refresh_token|app_token|"
    r"auth_token|id_token|api_key|apikey|secret|client_secret|sessionid|session_id|login_or_email|"
    r"authorization|key"
)
# A value runs to the next separator and, across spaces, on through words that look like base64
# (a digit, "/" or "="), because a signature echoed with "+" read as a space falls into pieces.
_VALUE = r"""[^\s&"'<>,;)]+(?:\s(?=[A-Za-z0-9/=+]*[0-9/=])[A-Za-z0-9/=+]+)*"""
_NAMED_VALUE = re.compile(rf"""(?i)(?<![\w-])({_CREDENTIAL_NAMES})(["']?\s*[=:]\s*["']?)(?:bearer\s+)?{_VALUE}""")
_QUERY_VALUE = re.compile(rf"""([?&][\w.\-\[\]]{{1,64}}=){_VALUE}""")
_LONG_TOKEN = re.compile(
    r"(?=[A-Za-z0-9+/_\-]{24})(?=[A-Za-z_\-+/]*[0-9])(?=[0-9_\-+/]*[A-Za-z])[A-Za-z0-9+/_\-]{24,}={0,2}"
)
"""A credential by shape: a long run of letters and digits (base64, hex) that words and ids are not."""
_DECODE_ROUNDS = 3


def _decoded(text: str) -> str:
    """``text`` percent-decoded until stable (``+`` as a space), at most a few rounds."""
    for _ in range(_DECODE_ROUNDS):
        decoded = unquote_plus(text)
        if decoded == text:
            break
        text = decoded
    return text


def _by_list_and_shape(text: str, secrets: Iterable[str]) -> str:
    for secret in secrets:
        if len(secret) >= 4:
            forms = {secret, quote(secret, safe=""), quote(secret, safe="/"), secret.replace("+", " ")}
            for form in sorted(forms, key=len, reverse=True):
                text = text.replace(form, "***")
    text = _QUERY_VALUE.sub(r"\1***", text)
    text = _NAMED_VALUE.sub(lambda m: f"{m.group(1)}{m.group(2)}***", text)
    return _LONG_TOKEN.sub("***", text)


def scrub(text: str, secrets: Iterable[str] = ()) -> str:
    """Remove credentials from a text that came from outside: by list, then by shape, twice.

    Once as it came and once percent-decoded (``+`` read as a space, as a form parser would), so
    an encoded or ``+``-mangled value is seen in both forms. Removed each time: every configured
    secret (plain, percent-encoded, with ``+`` as a space), the value of every credential-named
    parameter (``sig=``, ``"token": ...``), every value of a URL query, and every long
    letters-and-digits run shaped like a signature or token.
    """
    secrets = list(secrets)
    return _by_list_and_shape(_decoded(_by_list_and_shape(text, secrets)), secrets)


def error_for(method: str, status: int, code: int | None, description: str) -> LabArchivesError:
    """Map an HTTP status and LabArchives code to our exception type (§5.2, §5.3).

    Clients must key on ``<error-code>``, not the status (§5.3); the status decides only when no
    code came back.
    """
    meaning = CODE_MEANINGS.get(code, "") if code is not None else ""
    said = f" ({description})" if description and description.casefold() != meaning.casefold() else ""
    label = f"error {code}: {meaning or 'unknown error code'}{said}" if code is not None else f"HTTP {status}"
    message = f"LabArchives {method} failed: {label}"
    cls: type[LabArchivesError] = InvalidRequestError
    if code in AUTH_CODES or (code is None and status == 401):
        cls = AuthenticationError
    elif code in PERMISSION_CODES or (code is None and status == 403):
        cls = PermissionDeniedError
    elif code in MISSING_CODES or (code is None and status == 404):
        cls = ResourceMissingError
    elif code == 4999 or status >= 500:
        cls = UpstreamError
    return cls(message, method=method, code=code, status=status)


def is_search_miss(method: str, status: int, code: int | None) -> bool:
    """A search with no match answers HTTP 404 (§5.3 [DOC]); that is an empty result, not an error.

    A 404 that carries an authentication, uid or notebook code is still an error.
    """
    if method not in SEARCH_METHODS or status != 404:
        return False
    return code is None or code not in (AUTH_CODES | PERMISSION_CODES | {4500, 4509, 4529})


def is_clock_rejection(code: int | None, message: str) -> bool:
    """The call was refused for its ``expires``: too old (4504, §2.4) or, after a clock step, too
    far in the future (4529 naming ``expires``; the bound is unknown, §12). A re-sync fixes both."""
    return code == EXPIRED_CODE or (code == 4529 and "expires" in message.lower())


def is_retryable_status(status: int) -> bool:
    """Only 5xx answers are retried; a 4xx is never retried (§5.4 [DOC])."""
    return status >= 500
