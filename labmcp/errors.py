"""The whole exception hierarchy of labmcp, mapped to MCP errors in exactly one place.

    LabMCPError                      base; its message is always safe to show (no secrets)
    ├── ConfigError                  invalid configuration: exit code 2 before any network I/O
    ├── StartupError                 start-up failed (stdio keeps serving and answers every data request with it)
    ├── InvalidArgumentError         a tool, resource or prompt argument is wrong
    ├── NotFoundError                no such notebook/folder/page/entry, or outside the scope
    ├── ExtractionError              an attached file is malformed or over an extraction limit
    └── LabArchivesError             LabArchives said no, or could not be understood
        ├── AuthenticationError      4504 4506 4507 4514 4520 4533 (credentials, clock, uid)
        ├── PermissionDeniedError    4501 4502 4547
        ├── ResourceMissingError     4509 4511 4512 4517 (also a NotFoundError)
        ├── InvalidRequestError      4500 4503 4518 4527 4529 and other 4xx
        ├── RequestBudgetError       one request needed more calls than LABARCHIVES_MAX_CALLS_PER_REQUEST
        └── UpstreamError            5xx, 4999, garbage or oversized bodies, unreachable host
            └── UpstreamTimeoutError connect or read timeout

Out-of-scope items raise NotFoundError with the very same text as items that do not exist,
so the scope cannot be probed (spec: "out of scope answers exactly like does not exist").
"""

from __future__ import annotations


class LabMCPError(Exception):
    """Base of every error labmcp raises on purpose; ``str()`` is safe to show to anyone."""


class ConfigError(LabMCPError):
    """The configuration is invalid; the server refuses to start."""


class StartupError(LabMCPError):
    """Start-up failed (credentials refused, scope name unknown): why, and what to do about it."""


class InvalidArgumentError(LabMCPError):
    """A caller passed an argument that cannot be used (wrong type, out of range, bad URI)."""


class NotFoundError(LabMCPError):
    """The item does not exist, or is outside the configured scope (indistinguishable on purpose)."""


class ExtractionError(LabMCPError):
    """An attached file could not be read as text: malformed, encrypted, or over a named limit."""


class LabArchivesError(LabMCPError):
    """LabArchives answered with an error, or its answer could not be used.

    ``code`` is the LabArchives error code (45xx) when one was given, ``status`` the HTTP status.
    """

    def __init__(
        self,
        message: str,
        *,
        method: str = "",
        code: int | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.method = method
        self.code = code
        self.status = status


class AuthenticationError(LabArchivesError):
    """Credentials, signature, clock or uid were rejected."""


class PermissionDeniedError(LabArchivesError):
    """The user may not read the item."""


class ResourceMissingError(LabArchivesError, NotFoundError):
    """LabArchives reports the notebook, page or entry does not exist."""


class InvalidRequestError(LabArchivesError):
    """LabArchives rejected the request as malformed (a bug on our side or a bad argument)."""


class RequestBudgetError(LabArchivesError):
    """One request needed more LabArchives calls than it may cost; nothing failed upstream."""


class UpstreamError(LabArchivesError):
    """LabArchives failed or could not be reached; may be retried."""


class UpstreamTimeoutError(UpstreamError):
    """LabArchives did not answer in time."""
