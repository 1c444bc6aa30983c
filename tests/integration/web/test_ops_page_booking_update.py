"""The claim page's "Update from the booking system" block, in this process on a real Redis server: Mary, signed
in with her own account, sees the overview's badge on a parked claim the booking system re-sent with the
referral, the block with what it changes and the decision it would give; a post without the CSRF token changes
nothing; she applies it, in her name; the claim then shows no update waiting."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from pipeline.adapters.redis_server import embedded_redis
from pipeline.application.ingest import receive
from tests.examples import example
from tests.integration.application.harness import InlinePipeline
from tests.integration.web.test_ops_page_selection import hidden_fields, mary_signed_in


@pytest.fixture
def page(tmp_path: Path) -> Iterator[tuple[TestClient, InlinePipeline, str]]:
    with embedded_redis(tmp_path / "redis") as url, pytest.MonkeyPatch.context() as mp:
        pipeline = InlinePipeline(url)
        first = example("va_missing_referral")
        claim_id = pipeline.post(first)
        pipeline.park("ses_no_update")  # another parked claim, without an update: no badge
        again = copy.deepcopy(first)
        again["event_id"] = "evt_referral_added"
        again["va_referral"] = example("va_direct")["va_referral"]
        receive(pipeline.ledger, json.dumps(again).encode(), lambda *_: None, source="test")
        with mary_signed_in(url, mp) as client:
            yield client, pipeline, claim_id


def _update_form(html: str) -> dict[str, str]:
    return hidden_fields(html, '/apply-update#update"')


def test_mary_sees_the_update_previews_it_and_applies_it_in_her_name(
        page: tuple[TestClient, InlinePipeline, str]) -> None:
    client, pipeline, claim_id = page
    overview = client.get("/ops").text
    rows = re.findall(r'<tr data-claim="([^"]+)">(.*?)</tr>', overview)
    badged = {cid for cid, row in rows if "update waiting" in row}
    assert badged == {claim_id}

    html = client.get(f"/ops/claims/{claim_id}").text
    block = html[html.index('id="update"'):html.index("Apply and resubmit")]
    assert "evt_referral_added" in block and 'data-section="va_referral"' in block
    # when it arrived, in the practice's time as every time on the page (America/Chicago: CST or CDT)
    assert re.search(r"received \d{4}-\d\d-\d\d \d\d:\d\d:\d\d C[SD]T, changes", block), block[:400]
    assert example("va_direct")["va_referral"]["referral_number"] in block  # the value, on the signed-in page
    assert 'id="update-route">direct_billing<' in block and "The problems would be solved" in block
    hidden = _update_form(html)

    forged = client.post(f"/ops/claims/{claim_id}/apply-update", data={"based_on": hidden["based_on"],
                                                                      "action": "apply"})
    assert forged.status_code in (400, 403)
    assert "va_referral" not in pipeline.ledger.event_document(claim_id)

    done = client.post(f"/ops/claims/{claim_id}/apply-update", data={**hidden, "action": "apply"},
                       follow_redirects=True)
    assert done.status_code == 200
    assert "Applied the booking system&#x27;s update evt_referral_added (va_referral). Now resubmit it." in done.text
    assert 'id="update"' not in done.text
    [amended] = [e for e in pipeline.ledger.timeline(claim_id) if e["kind"] == "amended"]
    assert (amended["by"], amended["applied_event"], amended["source"]) == ("Mary Front (mary)",
                                                                           "evt_referral_added", "ops page")
    assert pipeline.claim(claim_id).status == "needs_attention"  # applied, not resubmitted: she resubmits

    again = client.post(f"/ops/claims/{claim_id}/apply-update", data={**hidden, "action": "apply"},
                        follow_redirects=True)
    assert "Not applied" in again.text
    assert [e["kind"] for e in pipeline.ledger.timeline(claim_id)].count("amended") == 1
