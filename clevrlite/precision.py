"""How many decimals a benchmark shows and compares its numbers at: one type, one converter.

Texts, answers and uniqueness checks all round floats to the same ``digits`` ("full": every
digit, compared exactly). ``Precision.parse`` is the only way in from a flag, a file or a
caller; ``label`` is how files write it (2, or "full").
"""

from __future__ import annotations

from dataclasses import dataclass

from clevrlite.errors import UsageError

FULL = "full"
MAX_DIGITS = 6


@dataclass(frozen=True)
class Precision:
    """Decimals numbers are rounded to; None keeps every digit."""

    digits: int | None = 2

    @classmethod
    def parse(cls, value: "Precision | int | str | None") -> "Precision":
        """A precision from 0-6 (an int or its digits), "full", None (full) or a Precision;
        anything else is a usage error that names the allowed values."""
        if isinstance(value, Precision):
            return value
        if value is None or value == FULL:
            return cls(None)
        if isinstance(value, str) and value.strip().isdigit():
            value = int(value)
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_DIGITS:
            return cls(value)
        raise UsageError(f"precision must be an integer 0 to {MAX_DIGITS} or '{FULL}', "
                         f"not {value!r}")

    @property
    def full(self) -> bool:
        return self.digits is None

    @property
    def label(self) -> int | str:
        """As files and options write it: the digits, or "full"."""
        return FULL if self.digits is None else self.digits

    def __str__(self) -> str:
        return str(self.label)

    def round(self, value: float) -> float:
        """One float at this precision (unchanged when full)."""
        return value if self.digits is None else round(value, self.digits)


EXACT = Precision(None)
DEFAULT = Precision(2)

