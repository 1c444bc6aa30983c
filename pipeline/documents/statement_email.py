"""The e-mail that carries a client's statement: subject, body and attachment name.

Pure. The body names the practice, the document number and the dates (and, for a statement that replaces an
earlier one, the amount paid and the balance) only: diagnoses, procedure codes and everything else clinical
stay in the attached PDF.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

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


def session_statement_email(practice: Practice, *, document_number: str, date_of_service: date,
                            replaces: str | None = None, amount_paid: Decimal | None = None,
                            balance_due: Decimal | None = None) -> StatementEmailText:
    """The e-mail of one session's statement. One that `replaces` an earlier statement (a payment received
    after the visit, or a corrected claim) says so, with the amount paid and the balance now due; with nothing
    left to pay it is the client's receipt ("Your receipt from ...")."""
    name = practice.practice.legal_name
    if replaces is None or amount_paid is None or balance_due is None:
        body = (
            "Hello,\n\n"
            f"Attached is your statement {document_number} from {name} for your visit on {_us(date_of_service)}, "
            "as a PDF. You can submit it to your insurance carrier for reimbursement, or keep it for your "
            "FSA/HSA records.\n\n" + _closing(practice)
        )
        return StatementEmailText(subject=f"Your statement from {name} ({document_number})", body=body,
                                  attachment_name=f"statement-{document_number}.pdf")
    if balance_due <= 0:
        subject = f"Your receipt from {name} ({document_number})"
        standing = (f"Thank you: your visit is paid in full ({_money(amount_paid)} paid). This statement is your "
                    "receipt.")
    else:
        subject = f"Your updated statement from {name} ({document_number})"
        standing = f"It shows {_money(amount_paid)} paid and {_money(balance_due)} still due."
    body = (
        "Hello,\n\n"
        f"Attached is your updated statement {document_number} from {name} for your visit on "
        f"{_us(date_of_service)}, as a PDF. It replaces statement {replaces}. {standing} You can submit it to "
        "your insurance carrier for reimbursement, or keep it for your FSA/HSA records.\n\n" + _closing(practice)
    )
    return StatementEmailText(subject=subject, body=body, attachment_name=f"statement-{document_number}.pdf")


def _money(value: Decimal) -> str:
    return f"${value:,.2f}"


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
