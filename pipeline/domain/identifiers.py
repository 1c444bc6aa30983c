"""Check digits of provider identifiers: NPI (Luhn with the 80840 prefix) and EIN."""

from __future__ import annotations

import re

from stdnum.us import ein as _ein

_NPI_SHAPE = re.compile(r"[12][0-9]{9}")

# The implied prefix 80840 contributes 24 to the Luhn sum of every NPI.
_NPI_PREFIX_SUM = 24


def npi_check_digit(first_nine: str) -> int:
    """The Luhn check digit of the first nine digits of an NPI, prefix 80840 included."""
    total = _NPI_PREFIX_SUM
    for position, char in enumerate(reversed(first_nine)):
        digit = int(char)
        if position % 2 == 0:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return (10 - total % 10) % 10


def npi_is_valid(npi: str) -> bool:
    """Ten ASCII digits, the first 1 or 2, the last the Luhn check digit."""
    if not _NPI_SHAPE.fullmatch(npi):
        return False
    return npi_check_digit(npi[:9]) == int(npi[9])


def ein_is_valid(ein: str) -> bool:
    """Nine digits (dash optional) with a prefix the IRS assigns."""
    return bool(_ein.is_valid(ein))
