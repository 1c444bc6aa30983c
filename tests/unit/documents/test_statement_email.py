"""The statement e-mail's text: the practice, the document number and the dates; nothing clinical."""

from __future__ import annotations

from datetime import date

from config.practice import load_practice
from pipeline.documents.statement_email import period_statement_email, session_statement_email


def test_the_session_email_names_the_document_and_the_visit_and_nothing_clinical() -> None:
    practice = load_practice()
    text = session_statement_email(practice, document_number="SB-000042", date_of_service=date(2026, 11, 20))
    assert "SB-000042" in text.subject and practice.practice.legal_name in text.subject
    assert "11/20/2026" in text.body and practice.practice.phone in text.body
    assert text.attachment_name == "statement-SB-000042.pdf"
    whole = (text.subject + text.body).lower()
    for clinical in ("diagnos", "icd", "cpt", "97124", "97140", "m54", "prescri", "therap"):
        assert clinical not in whole.replace(practice.practice.legal_name.lower(), ""), clinical


def test_the_period_email_names_the_range() -> None:
    text = period_statement_email(load_practice(), document_number="SB-000043", since=date(2026, 11, 1),
                                  until=date(2026, 11, 30))
    assert "11/01/2026 to 11/30/2026" in text.body and "SB-000043" in text.subject


def test_a_replacement_says_what_it_replaces_the_amount_paid_and_the_balance() -> None:
    from decimal import Decimal

    text = session_statement_email(load_practice(), document_number="SB-000050", date_of_service=date(2026, 11, 20),
                                   replaces="SB-000042", amount_paid=Decimal("110.00"), balance_due=Decimal("150.00"))
    assert text.subject.startswith("Your updated statement") and "SB-000050" in text.subject
    assert "replaces statement SB-000042" in text.body and "$110.00 paid and $150.00 still due" in text.body
    assert text.attachment_name == "statement-SB-000050.pdf"


def test_a_replacement_with_nothing_due_is_the_clients_receipt() -> None:
    from decimal import Decimal

    text = session_statement_email(load_practice(), document_number="SB-000051", date_of_service=date(2026, 11, 20),
                                   replaces="SB-000050", amount_paid=Decimal("260.00"), balance_due=Decimal("0.00"))
    assert text.subject.startswith("Your receipt") and "paid in full ($260.00 paid)" in text.body
    assert "still due" not in text.body and "receipt" in text.body
