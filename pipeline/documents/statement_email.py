"""The e-mail that carries a client's statement: subject, body and attachment name.

Pure. The body names the practice, the document number and the dates only: diagnoses, procedure codes and
everything else clinical stay in the attached PDF.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from config.practice import Practice


@dataclass(frozen=True)
class StatementEmailText:
    subject: str
    body: str
    attachment_name: str


def _us(day: date) -> str:
    return day.strftime("%m/%d/%Y")


def _closing(practice: Practice) -> str:
    info = practice.practice
    return (
        "Keep this statement with your records. If you have questions about it, call us at "
        f"{info.phone}; please do not reply with health information by e-mail.\n\n"
        f"{info.legal_name}\n"
    )


def session_statement_email(practice: Practice, *, document_number: str, date_of_service: date) -> StatementEmailText:
    """The e-mail of one session's statement."""
    name = practice.practice.legal_name
    body = (
        "Hello,\n\n"
        f"Attached is your statement {document_number} from {name} for your visit on {_us(date_of_service)}, "
        "as a PDF. You can submit it to your insurance carrier for reimbursement, or keep it for your "
        "FSA/HSA records.\n\n" + _closing(practice)
    )
    return StatementEmailText(subject=f"Your statement from {name} ({document_number})", body=body,
                              attachment_name=f"statement-{document_number}.pdf")


def period_statement_email(practice: Practice, *, document_number: str, since: date, until: date) -> StatementEmailText:
    """The e-mail of a statement for every visit in a date range (the monthly statement)."""
    name = practice.practice.legal_name
    body = (
        "Hello,\n\n"
        f"Attached is your statement {document_number} from {name} for your visits from {_us(since)} to "
        f"{_us(until)}, as a PDF. You can submit it to your insurance carrier for reimbursement, or keep it "
        "for your FSA/HSA records.\n\n" + _closing(practice)
    )
    return StatementEmailText(subject=f"Your statement from {name} ({document_number})", body=body,
                              attachment_name=f"statement-{document_number}.pdf")
