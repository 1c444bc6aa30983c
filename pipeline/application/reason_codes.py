"""Codes for why a claim stopped, for anything that leaves the ops screens (alerts, the daily summary).

A peer's answer is free text that may quote the claim's data (a 999 names the element and its value: an
address, a birth date), and so is an error that carries the peer's answer. What is posted out carries
codes only: the claim's problem codes, the peer's reason codes, and a code for the last error.
"""

from __future__ import annotations

import re

from schemas.claim import Claim

_STATUS_CODE = re.compile(r"^(277CA|999|TA1): *([A-Z0-9]{1,3}:[A-Z0-9]{1,5})\b")
_SOURCE = re.compile(r"^(277CA|999|TA1)\b")
_HTTP = re.compile(r"^(\w+):? answered (\d{3})\b")
_NO_ANSWER = re.compile(r"^(\w+): no (?:final )?answer")
_EXCEPTION = re.compile(r"^(\w+): ([A-Z]\w*(?:Error|Timeout|Exception))$")


def peer_reason_code(reason: str) -> str:
    """`277CA: A7:21 Missing or invalid information` -> `277CA:A7:21`; `999: <anything>` -> `999`; other
    free text -> `peer_reason`."""
    match = _STATUS_CODE.match(reason)
    if match:
        return f"{match.group(1)}:{match.group(2)}"
    match = _SOURCE.match(reason)
    return match.group(1) if match else "peer_reason"


def error_code(error: str | None) -> str | None:
    """`clearinghouse: answered 503` -> `clearinghouse:http_503`; `... no answer within 2 s` ->
    `clearinghouse:no_answer`; `billing_service: ConnectionError` -> `billing_service:ConnectionError`."""
    if not error:
        return None
    match = _HTTP.match(error)
    if match:
        return f"{match.group(1)}:http_{match.group(2)}"
    match = _NO_ANSWER.match(error)
    if match:
        return f"{match.group(1)}:no_answer"
    match = _EXCEPTION.match(error)
    if match:
        return f"{match.group(1)}:{match.group(2)}"
    if error == "retries exhausted":
        return "retries_exhausted"
    return "error"


def claim_reason_codes(claim: Claim) -> list[str]:
    """Why the claim stopped, as codes: its problems, its peer's reasons, its last error."""
    codes = [p.code for p in claim.problems] + [peer_reason_code(r) for r in claim.peer_reasons or []]
    last = error_code(claim.last_error)
    if last and not codes:
        codes.append(last)
    return list(dict.fromkeys(codes))
