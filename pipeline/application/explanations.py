"""What each code means for the front desk: a plain explanation, the next step, whether resubmitting
helps, and which form fixes it. One table, shared by the CLI (`superbill explain`, `claims show`) and the
ops page.

Covered: every problem and warning code of the decision, the peer reasons we map (the 999, the 277CA's
category:status codes), the codes of a last error (`clearinghouse:http_503`, `...:no_answer`), and the
remittance adjustment reason codes (CARC) the practice meets most.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from pipeline.application.reason_codes import error_code, peer_reason_code
from pipeline.domain import adjustment_codes, codes
from schemas.claim import FINAL_STATUSES

# When resubmitting is useful:
#   "after_fix": only once the data is fixed (resubmitting as is ends in the same place)
#   "yes": as is, once the cause outside the claim is gone (an outage)
#   "no": resubmitting does not help (a decision of the payer, or information only)
Resubmit = Literal["after_fix", "yes", "no"]
Form = Literal["prescription", "va_referral", "coverage", "client", "session", "payment"]


@dataclass(frozen=True)
class Explanation:
    code: str
    title: str
    meaning: str
    next_step: str
    resubmit: Resubmit
    form: Form | None = None

    @property
    def resubmit_hint(self) -> str:
        return {"after_fix": "Resubmitting helps only after the data is fixed.",
                "yes": "Resubmitting as it is should work once the cause is gone.",
                "no": "Resubmitting does not help."}[self.resubmit]

    def as_dict(self) -> dict[str, str | None]:
        return {"code": self.code, "title": self.title, "meaning": self.meaning, "next_step": self.next_step,
                "resubmit": self.resubmit, "resubmit_hint": self.resubmit_hint, "form": self.form}


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")


def _e(code: str, title: str, meaning: str, next_step: str, resubmit: Resubmit,
       form: Form | None = None) -> Explanation:
    """The one way an entry is made, in the table or on the fly (a code list's description as `meaning` is
    made a sentence)."""
    return Explanation(code, title, _sentence(meaning), next_step, resubmit, form)


_RX: Form = "prescription"
_REF: Form = "va_referral"
_TABLE: tuple[Explanation, ...] = (
    # problems --------------------------------------------------------------------------------------------
    _e(codes.THERAPIST_UNKNOWN, "Therapist not set up",
       "The session names a therapist who is not in the practice profile, so no claim can name the provider.",
       "Correct the therapist on the session, or add the therapist to the practice profile, then resubmit.",
       "after_fix", "session"),
    _e(codes.THERAPIST_NPI_INVALID, "Therapist's NPI is wrong",
       "The therapist's NPI in the practice profile fails the NPI check digit.",
       "Fix the NPI in the practice profile (ask the therapist for it), restart, then resubmit.", "after_fix"),
    _e(codes.PRESCRIPTION_MISSING, "No prescription on file",
       "This claim needs the physician's prescription (VA claims and courtesy submissions do), and none was sent.",
       "Enter the prescription from the physician's order, preview, save, then resubmit.", "after_fix", _RX),
    _e(codes.PRESCRIPTION_UNSIGNED, "Prescription not signed",
       "The prescription on file is marked as not signed by the physician.",
       "Get the signed prescription, tick 'signed' in the prescription form, then resubmit.", "after_fix", _RX),
    _e(codes.PRESCRIPTION_NOT_YET_VALID, "Prescription dated after the session",
       "The prescription was issued after the date of service, so it did not cover this session.",
       "Check the issue date; if it was typed wrong, correct it; otherwise the session is not covered.",
       "after_fix", _RX),
    _e(codes.PRESCRIPTION_EXPIRED, "Prescription expired",
       "The prescription had expired on the date of service.",
       "Get a renewed prescription that covers the date, enter it, then resubmit.", "after_fix", _RX),
    _e(codes.PHYSICIAN_NPI_INVALID, "Physician's NPI is wrong",
       "The prescribing physician's NPI fails the NPI check digit (a typo is likely).",
       "Check the NPI on the prescription (NPPES lookup), correct it in the prescription form, resubmit.",
       "after_fix", _RX),
    _e(codes.DIAGNOSIS_MISSING, "No diagnosis on the prescription",
       "The prescription lists no diagnosis code; an insurer needs at least one.",
       "Add the diagnosis codes from the physician's order to the prescription, then resubmit.",
       "after_fix", _RX),
    _e(codes.DIAGNOSIS_INVALID, "Diagnosis code not recognised",
       "A diagnosis code is not in the ICD-10-CM code set.",
       "Check the code on the physician's order and correct it in the prescription form, then resubmit.",
       "after_fix", _RX),
    _e(codes.DIAGNOSIS_NOT_BILLABLE, "Diagnosis code too general",
       "A diagnosis code is a category (for example M54.5), not a billable code (M54.50).",
       "Use the full code from the physician's order in the prescription form, then resubmit.", "after_fix", _RX),
    _e(codes.PROCEDURE_NOT_PRESCRIBED, "Service not prescribed",
       "A service billed for this session is not among the procedures the physician prescribed.",
       "If the prescription covers it, add the procedure in the prescription form; otherwise correct the "
       "session's services. Then resubmit.", "after_fix", _RX),
    _e(codes.VA_REFERRAL_MISSING, "No VA referral on file",
       "A VA Community Care claim needs the veteran's referral (authorisation), and none was sent.",
       "Enter the referral from the VA authorisation letter or HSRM, preview, save, then resubmit.",
       "after_fix", _REF),
    _e(codes.VA_REFERRAL_NUMBER_INVALID, "VA referral number looks wrong",
       "The referral number is not in one of the VA's forms (123-456789-01, 123-PC-1234567, VA0123456789).",
       "Copy the number exactly from the referral into the referral form, then resubmit.", "after_fix", _REF),
    _e(codes.VA_OUT_OF_NETWORK, "Referral from another network",
       "The referral was issued through TriWest; the practice is in network only with Optum.",
       "Check the referral's administrator; if it really is TriWest, the veteran needs an Optum referral.",
       "after_fix", _REF),
    _e(codes.VA_REFERRAL_NOT_APPROVED_BEFORE_SERVICE, "Referral approved after the session",
       "The VA approved the referral after the date of service, so the session was not authorised.",
       "Check the approval date on the referral and correct it if it was typed wrong; then resubmit.",
       "after_fix", _REF),
    _e(codes.VA_REFERRAL_OUTSIDE_WINDOW, "Session outside the referral's dates",
       "The date of service is before the referral's first day or after its last day.",
       "Check the referral's valid-from and valid-until dates (or the session date) and correct them, or ask "
       "the VA for an extension.", "after_fix", _REF),
    _e(codes.VA_VISITS_EXHAUSTED, "No visits left on the referral",
       "All the visits the referral authorises are used by other sessions.",
       "Ask the VA for more visits (a new or extended referral), enter it, then resubmit.", "after_fix", _REF),
    _e(codes.VA_PROCEDURE_NOT_AUTHORIZED, "Service not on the referral",
       "A service billed for this session is not among the procedures the VA referral authorises.",
       "Add the procedure in the referral form if the referral lists it, or correct the session's services.",
       "after_fix", _REF),
    _e(codes.NCCI_SAME_REGION, "Two services on the same body area",
       "Massage (97124) and manual therapy (97140) are billed for the same body region, which payers refuse.",
       "Correct the body regions of the session's services (each code on its own region), then resubmit.",
       "after_fix", "session"),
    _e(codes.NO_BILLABLE_TIME, "Too little time to bill",
       "No service line reaches 8 minutes, the least that counts as one 15-minute unit.",
       "Check the minutes of the session's services and correct them if they were typed wrong.",
       "after_fix", "session"),
    _e(codes.CLAIM_DATA_INVALID, "Data the claim form cannot carry",
       "Some of the client's or coverage data cannot go on an 837P as typed (the message names the fields: a "
       "state that is not a two-letter code, a ZIP that is not 5 or 9 digits, a member id with * : ^ ~).",
       "Correct the named fields in the client or coverage form, then resubmit.", "after_fix", "client"),
    _e("input_invalid", "Stored session data no longer valid",
       "The session's data does not pass today's input rules (the message names the fields).",
       "Correct the named fields with the matching form, then resubmit.", "after_fix"),
    # warnings --------------------------------------------------------------------------------------------
    _e(codes.CARRIER_EXCLUDES_MASSAGE, "Insurer does not cover massage",
       "The client's insurer is on the practice's list of carriers that do not cover massage; the client gets "
       "a statement instead of a courtesy submission.",
       "Nothing to fix. Give the client the statement.", "no", "coverage"),
    _e(codes.COURTESY_NOT_REQUESTED, "No courtesy submission requested",
       "The client did not ask the practice to send the superbill to the insurer; they get a statement.",
       "If the client did ask, tick 'courtesy submission' in the coverage form and resubmit.", "no", "coverage"),
    _e(codes.ZERO_UNIT_LINE, "A service too short to bill",
       "A service line has fewer than 8 minutes and is left off the superbill.",
       "Check the minutes if that is a typo; otherwise nothing to do.", "no", "session"),
    _e(codes.CODE_GOAL_MISMATCH, "Service does not fit the session's goal",
       "A functional goal billed only as massage, or a relaxation goal billed as manual therapy.",
       "Check the goal and services of the session; insurers may question it.", "no", "session"),
    _e(codes.PLACE_OF_SERVICE_UNUSUAL, "Unusual place of service",
       "The session is billed at a place other than the office (11) or the client's home (12), where massage is "
       "given. Telehealth (02, 10) is never right for a hands-on service, and insurers deny it.",
       "If the place is wrong, correct the session's place of service and resubmit (a claim the payer already "
       "took is corrected with frequency 7).", "no", "session"),
    _e(codes.BALANCE_DUE, "Client owes a balance",
       "The client paid less than the total charge. A veteran whose VA claim needs attention owes it only if "
       "the claim is never billed to the VA.",
       "Collect the balance from the client; from a veteran, do not: fix the VA claim's problems and resubmit "
       "it first (once billed to the VA, the veteran owes nothing, and anything collected is refunded).",
       "no", "payment"),
    _e(codes.VA_PAYMENT_COLLECTED, "Veteran paid; a refund is due",
       "A veteran under a VA referral owes nothing, but money was collected.",
       "Refund the veteran.", "no", "payment"),
    # the clearinghouse's file check (999) ------------------------------------------------------------------
    _e("999", "Clearinghouse refused the file",
       "The clearinghouse's format check (the 999) rejected the claim file; the reason names the segment.",
       "Look at the reason and the 837P on the claim page; correct the client, coverage or referral data the "
       "reason points to, then resubmit.", "after_fix", "client"),
    # 277CA category codes (claim acknowledgement) -------------------------------------------------------------
    _e("277CA:A0", "Forwarded by the clearinghouse", "The clearinghouse passed the claim on to the payer.",
       "Nothing to do; wait for the payer.", "no"),
    _e("277CA:A1", "Received by the payer", "The payer received the claim.", "Nothing to do.", "no"),
    _e("277CA:A2", "Accepted into the payer's system", "The payer accepted the claim for processing.",
       "Nothing to do; the remittance will follow.", "no"),
    _e("277CA:A3", "Returned as unprocessable",
       "The payer returned the claim: it cannot be processed as sent (often the subscriber or member id).",
       "Check the member id and the client's name and birth date against the VA card, correct them in the "
       "coverage or client form, then resubmit.", "after_fix", "coverage"),
    _e("277CA:A4", "Claim not found", "The payer cannot find the claim.",
       "Resubmit it as it is.", "yes"),
    _e("277CA:A6", "Information missing",
       "The payer says information is missing from the claim (the status code says which).",
       "Add the missing information with the matching form, then resubmit.", "after_fix"),
    _e("277CA:A7", "Information invalid",
       "The payer says some information on the claim is invalid (the status code says which).",
       "Correct the information the status code names, then resubmit.", "after_fix"),
    _e("277CA:A8", "Rejected for relational field errors",
       "The payer rejected the claim because fields do not fit together (e.g. sent to the wrong payer).",
       "Check the payer and the coverage; correct them, then resubmit.", "after_fix", "coverage"),
    # 277CA status codes we meet (after the category) -----------------------------------------------------------
    _e("277CA:A7:21", "Information missing or invalid",
       "The payer found missing or invalid information on the claim.",
       "Open the 277CA on the claim page to see which part; correct it with the matching form, then resubmit.",
       "after_fix"),
    _e("277CA:A7:562", "Member id invalid",
       "The payer does not recognise the veteran's member id.",
       "Copy the member id exactly from the VA card or referral into the coverage form, then resubmit.",
       "after_fix", "coverage"),
    _e("277CA:A3:33", "Subscriber not found",
       "The payer cannot find the veteran by name, birth date and member id.",
       "Check the client's name and birth date and the member id against the VA card; correct, resubmit.",
       "after_fix", "client"),
    _e("277CA:A8:116", "Sent to the wrong payer",
       "The claim went to a payer that does not cover this veteran.",
       "Check the coverage kind and payer; correct them, then resubmit.", "after_fix", "coverage"),
    _e("277CA:A7:145", "Provider taxonomy invalid",
       "The payer refuses the provider's specialty (taxonomy) code.",
       "Fix the taxonomy in the practice profile (ask the billing service), restart, then resubmit.", "after_fix"),
    _e("277CA", "Payer rejected the claim",
       "The payer's acknowledgement (277CA) rejected the claim; the reason gives its code.",
       "Read the reason, correct the data it names, then resubmit.", "after_fix"),
    _e("peer_reason", "The peer said no", "The clearinghouse or billing service refused the claim.",
       "Read the reason; correct what it names, then resubmit.", "after_fix"),
    # a last error (no answer, an outage) ------------------------------------------------------------------------
    _e("http_5xx", "The peer had an outage",
       "The clearinghouse or billing service answered with a server error until the retries ran out.",
       "Nothing is wrong with the claim. Resubmit it as it is once the service is back (it is sent under the "
       "same key, so it is never billed twice).", "yes"),
    _e("http_busy", "The peer was too busy",
       "The clearinghouse or billing service asked us to slow down (429) or timed out the request (408) until "
       "the retries ran out.",
       "Nothing is wrong with the claim. Resubmit it as it is a little later (it is sent under the same key, "
       "so it is never billed twice).", "yes"),
    _e("http_4xx", "The peer refused the request",
       "The clearinghouse or billing service refused the request itself (its reason says why).",
       "Read the reason; it is usually our configuration (token, URL) rather than the claim.", "yes"),
    _e("no_answer", "No answer from the peer",
       "The clearinghouse took the claim but gave no final answer in time, or did not answer at all.",
       "Resubmit it as it is: it is sent again under the same key, so the peer answers once.", "yes"),
    _e("connection", "Could not reach the peer",
       "The clearinghouse or billing service could not be reached (network, DNS, timeout).",
       "Check that the service is up; then resubmit as it is.", "yes"),
    _e("document", "The claim file could not be built",
       "The 837P could not be built from the claim's data.",
       "Read the message (it names the fields), correct them with the matching form, then resubmit.",
       "after_fix", "client"),
    _e("retries_exhausted", "Gave up after many tries",
       "Every retry of the submission failed.", "Resubmit it as it is once the peer is back.", "yes"),
    # a final status that is not a problem but needs saying ------------------------------------------------------
    _e("voided", "Claim voided",
       "The clearinghouse and the payer accepted the void (frequency 8) of this claim: the payer takes back "
       "what it paid, and the claim owes nothing.",
       "Nothing to do. To bill the session again, it needs a new claim.", "no"),
)

# remittance adjustment reason codes (CARC): what the front desk does about the ones met most; what each
# code means comes from the X12 code list in `pipeline.domain.adjustment_codes` --------------------------------
_CARC_ADVICE: tuple[tuple[str, str, str, Resubmit, Form | None], ...] = (
    ("1", "Deductible", "Bill the client.", "no", None),
    ("2", "Coinsurance", "Bill the client.", "no", None),
    ("3", "Co-payment", "Bill the client.", "no", None),
    ("16", "Claim lacks information",
     "Add what the remark code names with the matching form, then send a corrected claim.", "after_fix", None),
    ("18", "Duplicate claim", "Do not resubmit; check the earlier payment.", "no", None),
    ("29", "Filed too late", "Resubmitting does not help; appeal only with proof of timely filing.", "no", None),
    ("45", "Charge above the fee schedule", "Write off the difference (in network) as the contract says.", "no",
     None),
    ("50", "Not medically necessary", "Check the diagnosis and the prescription; appeal with notes if warranted.",
     "no", None),
    ("96", "Not covered", "Bill the client.", "no", None),
    ("97", "Included in another service",
     "Check the modifiers (XS/59) and the body regions; correct and resubmit if they were wrong.",
     "after_fix", "session"),
    ("197", "No authorisation", "Enter the referral, then send a corrected claim.", "after_fix", _REF),
    ("198", "Authorisation exceeded", "Ask the VA for more visits, then send a corrected claim.", "after_fix", _REF),
)


_TABLE += tuple(_e(f"CARC:{reason}", title, adjustment_codes.CARC[reason], step, resubmit, form)
                for reason, title, step, resubmit, form in _CARC_ADVICE)

EXPLANATIONS: dict[str, Explanation] = {e.code: e for e in _TABLE}

LAST_RUN = "The claim is being run again; the reasons below are those of its last run."


def from_last_run(claim: dict[str, Any]) -> bool:
    """Whether the reasons a claim shows (`show_claim`'s document) are those of a run it has left: it is being run
    again (not final) and still shows the problems its last routing found. The peer's reasons and the last error
    are cleared when a claim is sent on its way again, so on a claim that is not final they are this run's own
    (a submission the worker is still retrying)."""
    return claim["status"] not in FINAL_STATUSES and bool(claim["problems"])


RETRYING = _e("retrying", "The peer has not taken it yet; the worker keeps trying",
              "the claim is being sent; the last try could not reach the peer, and the worker tries again by itself "
              "under the same key, so it is never sent twice",
              "Nothing to do now. If the tries run out the claim ends failed with this error: resubmit it then, "
              "once the service is back.", "no")


UNKNOWN = _e("", "Other reason", "A reason without an entry in our table.",
             "Read the reason as it is, or ask the billing service.", "after_fix")

_CATEGORY = re.compile(r"^(277CA:[A-Z0-9]{1,3}):")
_ADJUSTMENT = re.compile(r"^(" + "|".join(adjustment_codes.GROUPS) + r")-([A-Z0-9]{1,5})$")


def explain(code: str) -> Explanation:
    """The entry for a code: exact, else its family (`277CA:A7:999` -> `277CA:A7` -> `277CA`), else unknown."""
    if code in EXPLANATIONS:
        return EXPLANATIONS[code]
    category = _CATEGORY.match(code)
    if category and category.group(1) in EXPLANATIONS:
        return EXPLANATIONS[category.group(1)]
    if code.startswith("277CA"):
        return EXPLANATIONS["277CA"]
    if code.startswith("CARC:"):
        reason = code.removeprefix("CARC:")
        return _e(code, "Payment adjustment",
                  adjustment_codes.CARC.get(reason, "the payer adjusted the payment (see the CARC list)"),
                  "Read the remittance; ask the billing service if it is unclear.", "no")
    adjustment = _ADJUSTMENT.match(code)
    if adjustment:  # a denial reason as a remittance gives it: `CO-197` (group and CARC)
        group, reason = adjustment.groups()
        base = explain(f"CARC:{reason}")
        return _e(code, base.title, adjustment_codes.describe_adjustment(group, reason), base.next_step,
                  base.resubmit, base.form)
    if code.startswith("RARC:") or code in adjustment_codes.RARC:  # a remark (`N54`, `MA130`)
        remark = code.removeprefix("RARC:")
        return _e(code, "Remark from the payer", adjustment_codes.describe_remark(remark),
                  "Read it with the adjustment reason it goes with; it says what the payer needs.", "no")
    if ":" in code and error_family(code) in EXPLANATIONS:  # `clearinghouse:http_503`, as alerts name it
        return EXPLANATIONS[error_family(code)]
    return UNKNOWN


# a balance on a claim that is not a veteran's: the client owes it, with nothing to fix first
_CLIENT_BALANCE = _e(codes.BALANCE_DUE, "Client owes a balance",
                     "The client paid less than the total charge; the statement shows what is still due.",
                     "Collect the balance from the client, and record what they pay later under Client payments "
                     "on the claim's page (or `superbill claims pay`): a replacement statement shows the new "
                     "balance.", "no", "payment")


def explain_warning(code: str, coverage_kind: str | None) -> Explanation:
    """A warning's entry for a claim of this coverage: the balance of a client who is not a veteran is simply
    owed (the VA advice is for a VA claim, and for a claim whose coverage is not known)."""
    if code == codes.BALANCE_DUE and coverage_kind is not None and coverage_kind != "va_ccn":
        return _CLIENT_BALANCE
    return explain(code)


def error_family(code: str) -> str:
    """`clearinghouse:http_503` -> `http_5xx`, `billing_service:ConnectionError` -> `connection`."""
    _, _, tail = code.rpartition(":")
    if tail in ("http_429", "http_408"):
        return "http_busy"
    if tail.startswith("http_5"):
        return "http_5xx"
    if tail.startswith("http_4"):
        return "http_4xx"
    if tail in ("no_answer", "retries_exhausted"):
        return tail
    if "Error" in tail or "Timeout" in tail:
        return "connection"
    return tail


def explain_reason(reason: str) -> Explanation:
    """A peer's free-text reason (`277CA: A7:562 ...`) through its code."""
    return explain(peer_reason_code(reason))


def explain_last_error(last_error: str, status: str | None) -> Explanation:
    """A claim's last error as the front desk reads it: on a claim that is not final it is the error of the try
    the worker is retrying (resubmitting clears it), so the step is to wait; else its family's entry."""
    if status is not None and status not in FINAL_STATUSES:
        return RETRYING
    return explain_error(last_error)


def explain_error(last_error: str) -> Explanation:
    code = error_code(last_error) or "error"
    if last_error.startswith("the 837P could not be built"):
        return EXPLANATIONS["document"]
    return explain(error_family(code))


def claim_explanations(problems: list[str], warnings: list[str], peer_reasons: list[str],
                       last_error: str | None, denial_codes: list[str] | None = None,
                       status: str | None = None, coverage_kind: str | None = None) -> list[tuple[str, Explanation]]:
    """What the front desk reads for a claim: a voided claim's status, each problem, the payer's denial
    reasons (CARC with group, RARC), each peer reason, last error and warning with its explanation, in that
    order, each code once."""
    found: dict[str, Explanation] = {}
    if status == "voided":
        found["voided"] = EXPLANATIONS["voided"]
    for code in denial_codes or []:
        found.setdefault(code, explain(code))
    for code in problems:
        found.setdefault(code, explain(code))
    for reason in peer_reasons:
        found.setdefault(peer_reason_code(reason) if peer_reason_code(reason) != "peer_reason" else reason,
                         explain_reason(reason))
    if last_error and not peer_reasons:
        found.setdefault(error_code(last_error) or "error", explain_last_error(last_error, status))
    for code in warnings:
        found.setdefault(code, explain_warning(code, coverage_kind))
    return list(found.items())
