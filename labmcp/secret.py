"""A string wrapper for credentials whose ``repr`` and ``str`` never show the value."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Secret:
    """A credential (access password, app token, HTTP token); read it only via ``reveal()``."""

    _value: str = field(repr=False)

    def reveal(self) -> str:
        """Return the raw value, for the one place that must use it (signing, login)."""
        return self._value

    def __str__(self) -> str:
        return "***"

    def __repr__(self) -> str:
        return "Secret('***')"

    def __bool__(self) -> bool:
        return bool(self._value)
