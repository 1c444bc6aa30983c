"""The bundled examples (`pipeline/examples/`, the files `superbill demo` posts) do what their README says,
read from where they ship: a new, changed or removed example fails here until its README row and this table
agree."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from config.practice import load_practice
from pipeline.domain.decide import decide
from pipeline.domain.intake import InputRejected, parse_event_document
from tests.examples import EXAMPLES, example

# file -> (route, problem codes, warning codes, total charge, balance due), from pipeline/examples/README.md
EXPECTED = {
    "va_direct": ("direct_billing", [], [], "260.00", "0.00"),
    "commercial_courtesy": ("courtesy_submission", [], [], "260.00", "0.00"),
    "commercial_statement": ("statement_only", [], ["courtesy_not_requested"], None, None),
    "self_pay": ("statement_only", [], [], None, None),
    "va_missing_referral": ("needs_attention", ["va_referral_missing"], None, None, None),
}
REFUSED = {"refused_unsupported_cpt": ("session.services[0].cpt", "97110")}


def test_every_bundled_example_is_pinned_here_and_in_its_readme() -> None:
    shipped = {p.stem for p in EXAMPLES.glob("*.json")}
    assert shipped == set(EXPECTED) | set(REFUSED)
    readme_rows = set(re.findall(r"^\| `([a-z_]+)\.json` \|", (EXAMPLES / "README.md").read_text(), re.M))
    assert readme_rows == shipped


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_a_bundled_example_gets_the_route_its_readme_names(name: str) -> None:
    route, problems, warnings, total, balance = EXPECTED[name]
    decision = decide(parse_event_document(example(name)), load_practice())
    assert decision.route == route
    assert [p.code for p in decision.problems] == problems
    if warnings is not None:
        assert [w.code for w in decision.warnings] == warnings
    if total is not None:
        assert decision.superbill is not None
        assert (decision.superbill.total_charge, decision.superbill.balance_due) == (Decimal(total), Decimal(balance))


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_a_refused_bundled_example_is_refused_for_its_reason(name: str) -> None:
    path, value = REFUSED[name]
    with pytest.raises(InputRejected) as refused:
        parse_event_document(example(name))
    assert [(e.path, value in e.message) for e in refused.value.errors] == [(path, True)]
