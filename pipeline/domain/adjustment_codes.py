"""What a remittance's codes mean, in plain words: claim adjustment group codes, CARCs and RARCs.

The texts are shortened from the X12 code lists (Claim Adjustment Reason Codes, Remittance Advice Remark
Codes) for the codes a massage practice billing 97124/97140 meets; any other code is named as such.
"""

from __future__ import annotations

GROUPS: dict[str, str] = {
    "CO": "contractual obligation: written off, the patient is not billed",
    "PR": "patient responsibility",
    "OA": "other adjustment",
    "PI": "payer-initiated reduction",
    "CR": "correction or reversal of an earlier decision",
}

CARC: dict[str, str] = {
    "1": "deductible amount",
    "2": "coinsurance amount",
    "3": "co-payment amount",
    "4": "the procedure code does not fit the modifier used, or a required modifier is missing",
    "5": "the procedure code or type of bill does not fit the place of service",
    "11": "the diagnosis does not fit the procedure",
    "15": "the authorization (referral) number is missing, invalid, or does not apply to the billed services "
          "or provider",
    "16": "the claim or service lacks information or has a billing error",
    "18": "exact duplicate claim or service",
    "22": "this care may be covered by another payer (coordination of benefits)",
    "23": "the impact of prior payer adjudication",
    "26": "expenses incurred before coverage began",
    "27": "expenses incurred after coverage ended",
    "29": "the time limit for filing has expired",
    "31": "the patient cannot be identified as our insured",
    "35": "the lifetime benefit maximum has been reached",
    "45": "the charge exceeds the fee schedule or contracted amount",
    "50": "not deemed a medical necessity by the payer",
    "58": "the place of service is not valid for this treatment",
    "95": "the plan's procedures were not followed",
    "96": "non-covered charge",
    "97": "included in the payment for another service already adjudicated",
    "109": "not covered by this payer; send it to the right payer",
    "119": "the benefit maximum for this period has been reached",
    "146": "the diagnosis was not valid on the date of service",
    "151": "the information sent does not support this many services",
    "167": "the diagnosis is not covered",
    "181": "the procedure code was not valid on the date of service",
    "182": "the procedure modifier was not valid on the date of service",
    "183": "the referring provider is not eligible to refer the service billed",
    "185": "the rendering provider is not eligible to perform the service billed",
    "197": "precertification, authorization or notification absent",
    "198": "precertification, authorization or notification exceeded",
    "204": "not covered under the patient's current benefit plan",
    "226": "information the payer asked for was not sent, sent late, or incomplete",
    "234": "this procedure is not paid separately",
    "242": "services not provided by network or primary care providers",
    "252": "an attachment or other documentation is needed to decide this claim",
    "253": "sequestration: reduction in federal payment",
    "A1": "claim or service denied",
    "B7": "this provider was not certified or eligible to be paid for this procedure on this date",
}

RARC: dict[str, str] = {
    "M51": "missing, incomplete or invalid procedure code",
    "M53": "missing, incomplete or invalid days or units of service",
    "M62": "missing, incomplete or invalid treatment authorization code",
    "M80": "not covered when performed in the same session as another service already processed",
    "MA01": "if you disagree with the amount approved you may appeal",
    "MA63": "missing, incomplete or invalid principal diagnosis",
    "MA130": "incomplete or invalid information: unprocessable, no appeal rights; send a new claim",
    "N20": "not payable with another service rendered on the same date",
    "N54": "the claim is inconsistent with the pre-certified or authorized services",
    "N115": "decision based on a Local Coverage Determination (LCD)",
    "N130": "see the plan's benefit documents for this service's restrictions",
    "N286": "missing, incomplete or invalid referring provider identifier",
    "N290": "missing, incomplete or invalid rendering provider identifier",
    "N362": "the days or units of service exceed our acceptable maximum",
    "N381": "see our contractual agreement for restrictions on these charges",
    "N517": "send a new claim with the information asked for",
    "N657": "bill it with the appropriate code for these services",
}


def describe_adjustment(group: str, reason: str) -> str:
    """`CO`, `197` -> `precertification, authorization or notification absent (contractual obligation: ...)`."""
    what = CARC.get(reason, f"adjustment reason code {reason}")
    return f"{what} ({GROUPS.get(group, group)})"


def describe_remark(code: str) -> str:
    return RARC.get(code, f"remark code {code}")


# PLB03-1: why the payer takes money off (positive) or adds money to (negative) the whole payment
PROVIDER_ADJUSTMENTS: dict[str, str] = {
    "WO": "overpayment recovery: money taken back for an earlier payment",
    "L6": "interest owed",
    "FB": "forwarding balance: carried to or from another payment",
    "72": "authorized return: money the provider returned",
    "CS": "adjustment",
    "J1": "nonreimbursable",
    "90": "early payment allowance",
    "50": "late charge",
    "WU": "unspecified recovery",
}


def describe_provider_adjustment(code: str) -> str:
    return PROVIDER_ADJUSTMENTS.get(code, f"provider adjustment code {code}")
