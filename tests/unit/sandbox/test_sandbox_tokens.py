"""The sandbox peers require the token the pipeline is configured to send (CONTRACT.md 5.2/5.3:
`Authorization: Bearer <SUPERBILL_CLEARINGHOUSE_TOKEN>` / `<SUPERBILL_BILLING_SERVICE_TOKEN>`): any other
token is answered 401 and nothing is taken, so a test that passes through the sandbox proves the configured
token was sent."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from pipeline.sandbox import PeerTokens, create_app

SAMPLE_837P = (Path(__file__).resolve().parents[2] / "fixtures" / "sample_837p.x12").read_text()
TOKENS = PeerTokens(clearinghouse="ch-token-1", billing_service="bs-token-2")
SUPERBILL = {"claim_id": "ses_1", "document_number": "SB-000001"}


def call(client: TestClient, peer: str, token: str | None, *, lookup: bool = False) -> int:
    headers = {"Idempotency-Key": f"{peer}-key"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    if peer == "clearinghouse":
        if lookup:
            return client.get("/clearinghouse/v1/claims/by-key/clearinghouse-key", headers=headers).status_code
        return client.post("/clearinghouse/v1/claims", content=SAMPLE_837P, headers=headers).status_code
    if lookup:
        return client.get("/billing/v1/superbills/by-key/billing_service-key", headers=headers).status_code
    return client.post("/billing/v1/superbills", json=SUPERBILL, headers=headers).status_code


@pytest.mark.parametrize("peer", ["clearinghouse", "billing_service"])
@pytest.mark.parametrize("token", [None, "", "sandbox", "wrong", "ch-token-1x", "bs-token-2 ch-token-1"])
def test_a_peer_answers_401_to_any_token_but_its_own_and_takes_nothing(peer: str, token: str | None) -> None:
    with TestClient(create_app(tokens=TOKENS)) as client:
        assert call(client, peer, token) == 401
        assert call(client, peer, token, lookup=True) == 401
        assert client.get("/_sandbox/receipts").json() == {}


def test_each_peer_requires_its_own_token_not_the_others() -> None:
    with TestClient(create_app(tokens=TOKENS)) as client:
        assert call(client, "clearinghouse", "bs-token-2") == 401
        assert call(client, "billing_service", "ch-token-1") == 401
        assert call(client, "clearinghouse", "ch-token-1") == 202  # taken
        assert call(client, "clearinghouse", "ch-token-1", lookup=True) == 200
        assert call(client, "billing_service", "bs-token-2", lookup=True) == 404  # authorised, never sent


def test_the_sandbox_reads_the_peer_token_variables_the_pipeline_reads() -> None:
    tokens = PeerTokens.from_env({"SUPERBILL_CLEARINGHOUSE_TOKEN": "a", "SUPERBILL_BILLING_SERVICE_TOKEN": "b"})
    assert (tokens.of("clearinghouse"), tokens.of("billing_service")) == ("a", "b")


def test_unset_or_empty_token_variables_mean_the_pipelines_default_token_on_both_sides() -> None:
    from config.settings import load_settings

    for env in ({}, {"SUPERBILL_CLEARINGHOUSE_TOKEN": "", "SUPERBILL_BILLING_SERVICE_TOKEN": ""}):
        settings, tokens = load_settings(env), PeerTokens.from_env(env)
        assert (settings.clearinghouse_token, settings.billing_service_token) == (
            tokens.of("clearinghouse"), tokens.of("billing_service")) == ("sandbox", "sandbox")
