import pytest

from pipeline.domain.identifiers import ein_is_valid, npi_check_digit, npi_is_valid


@pytest.mark.parametrize(
    "npi",
    [
        "1245319599",
        "1679576722",
        "1003000126",
        "1234567893",
        "1000000020",  # Luhn sum 30: the check digit is 0, not 10
        "2000000010",
    ],
)
def test_npi_with_correct_check_digit_is_valid(npi: str) -> None:
    assert npi_is_valid(npi)


@pytest.mark.parametrize(
    ("npi", "why"),
    [
        ("1245319590", "wrong check digit"),
        ("1679576723", "wrong check digit"),
        ("1000000021", "wrong check digit after a sum that is a multiple of 10"),
        ("0245319599", "first digit 0"),
        ("3245319599", "first digit 3"),
        ("124531959", "nine digits"),
        ("12453195990", "eleven digits"),
        ("12453195a9", "a letter"),
        (" 1245319599", "leading space"),
        ("1245319599\n", "trailing newline"),
        ("１２４５３１９５９９", "full-width digits"),
        ("", "empty"),
    ],
)
def test_npi_that_fails_the_check_is_invalid(npi: str, why: str) -> None:
    assert not npi_is_valid(npi), why


@pytest.mark.parametrize(
    ("first_nine", "digit"),
    [("124531959", 9), ("167957672", 2), ("100300012", 6), ("123456789", 3), ("100000002", 0)],
)
def test_npi_check_digit_adds_the_80840_prefix(first_nine: str, digit: int) -> None:
    assert npi_check_digit(first_nine) == digit


@pytest.mark.parametrize(
    ("ein", "valid"),
    [
        ("12-3456789", True),
        ("123456789", True),
        ("00-0000000", False),  # prefix 00 is never assigned
        ("12-345678", False),
        ("12-34567890", False),
        ("AB-CDEFGHI", False),
    ],
)
def test_ein_is_checked_by_stdnum(ein: str, valid: bool) -> None:
    assert ein_is_valid(ein) is valid
