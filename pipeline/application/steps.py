"""The pipeline's steps by name and the queue each runs on: the one table the step sender and the actors share."""

from __future__ import annotations

VALIDATE, ASSEMBLE, ROUTE = "validate", "assemble", "route"
SUBMIT_DIRECT, SUBMIT_COURTESY, STATEMENT, ALERT = "submit_direct", "submit_courtesy", "make_statement", "alert"
SUBMISSION_FAILED = "submission_failed"  # called by the broker when a submission's retries run out
FETCH_REMITTANCES = "fetch_remittances"  # a pass over the clearinghouse's remittances (835); no claim id
SEND_STATEMENT = "send_statement"  # e-mail a statement_ready claim's statement to the client
STATEMENT_DELIVERY_FAILED = "statement_delivery_failed"  # called by the broker when its retries run out

QUEUE_OF = {
    VALIDATE: "validate",
    ASSEMBLE: "assemble",
    ROUTE: "route",
    SUBMIT_DIRECT: "submit_direct",
    SUBMIT_COURTESY: "submit_courtesy",
    STATEMENT: "statements",
    ALERT: "alerts",
    SUBMISSION_FAILED: "submit_direct",
    FETCH_REMITTANCES: "remittances",
    SEND_STATEMENT: "deliveries",
    STATEMENT_DELIVERY_FAILED: "deliveries",
}
QUEUES = tuple(dict.fromkeys(QUEUE_OF.values()))
SUBMISSION_STEP = {"direct_billing": SUBMIT_DIRECT, "courtesy_submission": SUBMIT_COURTESY}
