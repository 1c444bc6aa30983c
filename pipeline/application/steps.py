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

# The order in which a worker runs the messages it has taken (dramatiq's actor priority: lower first). A claim's
# later steps go before its earlier ones, so that the claims already in flight reach their final status before
# new ones start (a backlog then drains claim after claim instead of stage after stage, and a claim that
# arrives during one waits behind fewer steps); the broker's failure callbacks and alerts, which close a claim or
# tell ops, go first; the statement e-mails and remittance passes, which come after a claim is final, go
# last. Only the messages a worker already holds are ordered: a queue is never starved, since each queue's
# consumer keeps fetching its own messages.
PRIORITY_OF = {
    SUBMISSION_FAILED: 0,
    STATEMENT_DELIVERY_FAILED: 0,
    ALERT: 0,
    SUBMIT_DIRECT: 10,
    SUBMIT_COURTESY: 10,
    STATEMENT: 10,
    ROUTE: 20,
    ASSEMBLE: 30,
    VALIDATE: 40,
    SEND_STATEMENT: 100,
    FETCH_REMITTANCES: 100,
}
