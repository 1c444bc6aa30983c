"""How the ledger packs its larger values (events, superbills, documents sent and answers) for Redis.

A packed value is `PACKED_MARK`, a format byte, then a raw deflate stream (no zlib header or checksum: the
format byte names the dictionary, and Redis keeps its own data whole) whose compressor was primed with a fixed
dictionary of the shapes the pipeline stores: JSON field names and the
product's own constants (CPT descriptions, X12 segment names), never any practice's or patient's data. A
value that packing would not make smaller is kept as its UTF-8 text. Values written before packing existed
are plain UTF-8 text too: `0xff` never starts UTF-8 text, so `unpack` tells the two apart by the first byte,
and reading an old ledger needs no migration.

A format's dictionary never changes once data is written with it: a new dictionary is a new format byte,
and `unpack` keeps reading the older ones.
"""

from __future__ import annotations

import zlib

PACKED_MARK = b"\xff"  # never the first byte of UTF-8 text
_FORMAT_1 = b"\x01"

# Format 1's dictionary: what recurs between stored values, latest (nearest, so cheapest to refer to) last.
_DICTIONARY_1 = (
    # the 837P's envelope and segment names
    b"ISA*00*          *00*          *ZZ*~GS*HC*005010X222A1~ST*837*0001*005010X222A1~BHT*0019*00*~NM1*41*2*"
    b"*****46*~PER*IC**TE*~NM1*40*2*CLEARINGHOUSE*****46*CLEARINGHOUSE~HL*1**20*1~PRV*BI*PXC*225700000X~"
    b"NM1*85*2******XX*~N3*~N4*~REF*EI*~HL*2*1*22*0~SBR*P*18*******VA~SBR*P*18*******CI~NM1*IL*1*****MI*~"
    b"DMG*D8*~NM1*PR*2*VA CCN OPTUM*****PI*VACCN~CLM**11:B:1*Y*A*Y*Y~REF*9F*~REF*G1*~HI*ABK:*ABF:~"
    b"NM1*DN*1*****XX*~NM1*82*1*****XX*~PRV*PE*PXC*225700000X~LX*1~SV1*HC:97140:GP*UN*2***1:2~"
    b"DTP*472*D8*~REF*6R*~LX*2~SV1*HC:97124:GP*UN*2***1:2~SE*0001~GE*1*1~IEA*1*"
    # the peers' answers and the courtesy payload, as kept (indented by one space)
    b'{\n "submission_id": "CH-",\n "claim_id": "",\n "idempotency_key": "",\n "ack999": {\n  "status": '
    b'"accepted",\n  "errors": []\n },\n "ack277ca": {\n  "status": "accepted",\n  "reasons": [],\n  '
    b'"payer_claim_number": ""\n }\n}'
    b'{\n "status": "accepted",\n "reasons": [],\n "reference": "BS-",\n "claim_id": "",\n "idempotency_key": '
    b'""\n}'
    b'{\n "claim_id": "",\n "document_number": "SB-",\n "superbill": {\n  "date_of_service": "",\n  '
    b'"place_of_service": "11",\n  "diagnosis_codes": [\n   "M",\n   ""\n  ],\n  "lines": [\n   {\n    "cpt": '
    b'"97140",\n    "modifiers": [\n     "GP",\n     "XS"\n    ],\n    "minutes": 30,\n    "units": 2,\n    '
    b'"charge": ".00",\n    "diagnosis_pointers": [\n     1,\n     2\n    ],\n    "body_regions": [\n     '
    b'"lumbar"\n    ],\n    "description": "Manual therapy techniques (soft tissue and joint mobilisation, '
    b'myofascial release), each 15 minutes"\n   },\n   {\n    "cpt": "97124",\n    "modifiers": [],\n    '
    b'"minutes": 30,\n    "units": 2,\n    "charge": ".00",\n    "diagnosis_pointers": [\n     1,\n     2\n    '
    b'],\n    "body_regions": [\n     "cervical"\n    ],\n    "description": "Massage (effleurage, petrissage, '
    b'tapotement), each 15 minutes"\n   }\n  ],\n  "total_charge": ".00",\n  "amount_paid": ".00",\n  '
    b'"balance_due": ".00"\n },\n "provider": {\n  "legal_name": "",\n  "npi": "",\n  "ein": "",\n  '
    b'"taxonomy": "225700000X",\n  "phone": "+1-",\n  "address": {\n   "line1": "",\n   "line2": null,\n   '
    b'"city": "",\n   "state": "",\n   "postal_code": ""\n  },\n  "rendering": {\n   "first_name": "",\n   '
    b'"last_name": "",\n   "credentials": "LMT",\n   "npi": "",\n   "license_number": "",\n   '
    b'"license_state": ""\n  }\n },\n "referring_physician": {\n  "first_name": "",\n  "last_name": "",\n  '
    b'"npi": ""\n },\n "patient": {\n  "first_name": "",\n  "last_name": "",\n  "date_of_birth": "",\n  '
    b'"sex": "",\n  "address": {\n   "line1": "",\n   "line2": null,\n   "city": "",\n   "state": "",\n   '
    b'"postal_code": ""\n  }\n },\n "coverage": {\n  "payer_name": "",\n  "payer_id": "",\n  "member_id": "",'
    b'\n  "group_number": ""\n },\n "network": "out_of_network",\n "paid_by_client": ".00",\n "pdf_base64": '
    b'"(the superbill PDF)"\n}'
    # problems and warnings
    b'[{"code":"va_referral_missing","message":"a VA CCN client needs an approved referral, and none is on '
    b'file"}][{"code":"balance_due","message":"paid 0.00 of .00: .00 is due"}]'
    # the superbill, compact
    b'{"date_of_service":"","place_of_service":"11","diagnosis_codes":["M54.50","M62.830"],"lines":[{"cpt":'
    b'"97140","modifiers":["GP","XS"],"minutes":30,"units":2,"charge":".00","diagnosis_pointers":[1,2],'
    b'"body_regions":["lumbar"],"description":"Manual therapy techniques (soft tissue and joint mobilisation, '
    b'myofascial release), each 15 minutes"},{"cpt":"97124","modifiers":["GP"],"minutes":30,"units":2,'
    b'"charge":".00","diagnosis_pointers":[1,2],"body_regions":["cervical"],"description":"Massage '
    b'(effleurage, petrissage, tapotement), each 15 minutes"}],"total_charge":".00","amount_paid":".00",'
    b'"balance_due":".00"}'
    # the event, compact
    b'{"event_id":"evt_","event_type":"session.completed","occurred_at":"T:00-06:00","session":{"session_id":'
    b'"ses_","started_at":"T:00:00-06:00","ended_at":"T:00:00-06:00","place_of_service":"11","therapist_id":'
    b'"thr_","goal":"functional","services":[{"cpt":"97140","minutes":30,"body_region":"lumbar"},{"cpt":'
    b'"97124","minutes":30,"body_region":"cervical"}]},"client":{"client_id":"cli_","first_name":"",'
    b'"last_name":"","date_of_birth":"","sex":"F","address":{"line1":"","line2":null,"city":"","state":"",'
    b'"postal_code":""},"email":"@","phone":"+1-"},"coverage":{"kind":"va_ccn","payer_name":null,"payer_id":'
    b'null,"member_id":"","group_number":null,"courtesy_submission":false},"payment":{"amount_collected":'
    b'".00","method":"none"},"prescription":{"prescription_id":"rx_","physician":{"first_name":"",'
    b'"last_name":"","npi":""},"issued_on":"","expires_on":"","signed":true,"diagnosis_codes":["M54.50",'
    b'"M62.830"],"procedures":["97140","97124"],"treatments_authorized":12},"va_referral":{'
    b'"referral_number":"VA","administrator":"optum","region":2,"seoc":"Massage Therapy","approved_on":"",'
    b'"valid_from":"","valid_until":"","visits_authorized":12,"procedures":["97124","97140"]}}'
    # timeline entries, the most frequent values of all
    b'{"at":17,"kind":"remittance.payment","to":"paid","remittance_id":"rem_","paid":".00","adjusted":".00",'
    b'"patient_responsibility":".00","reasons":[],"trace_number":"","payer_claim_number":""}'
    b'{"at":17,"kind":"attempt.failed","peer":"clearinghouse","error":""}'
    b'{"at":17,"kind":"statement.sending","delivery":"sending","to":"","message_id":"<statement.'
    b'@"}{"at":17,"kind":"statement.sent","delivery":"sent","message_id":"<statement.@"}'
    b'{"at":17,"kind":"statement.ready","to":"statement_ready","document_number":"SB-","issued_on":""}'
    b'{"at":17,"kind":"submission.started","to":"submitting","peer":"billing_service","idempotency_key":"-1"}'
    b'{"at":17,"kind":"submission.started","to":"submitting","peer":"clearinghouse","idempotency_key":"-1"}'
    b'{"at":17,"kind":"submitted","to":"submitted","peer":"clearinghouse","reference":""}'
    b'{"at":17,"kind":"accepted","to":"accepted","peer":"billing_service","reference":""}'
    b'{"at":17,"kind":"needs_attention","to":"needs_attention","problems":["va_referral_missing"]}'
    b'{"at":17,"kind":"routed","to":"routed","route":"needs_attention","problems":["va_referral_missing"]}'
    b'{"at":17,"kind":"routed","to":"routed","route":"statement_only","problems":[]}'
    b'{"at":17,"kind":"routed","to":"routed","route":"courtesy_submission","problems":[]}'
    b'{"at":17,"kind":"routed","to":"routed","route":"direct_billing","problems":[]}'
    b'{"at":17,"kind":"assembled","to":"assembled"}{"at":17,"kind":"validated","to":"validated"}'
    b'{"at":17,"kind":"received","event_id":"evt_","to":"received"}'
)

_DICTIONARIES = {_FORMAT_1: _DICTIONARY_1}


def pack(text: str | bytes) -> bytes:
    """The value to store for `text`: packed when that is smaller, else its UTF-8 bytes."""
    raw = text.encode() if isinstance(text, str) else text
    # An 8 KiB window holds the dictionary and most values; smaller tables than zlib's default make packing
    # a short value about three times cheaper (tens of microseconds) for the same size.
    compressor = zlib.compressobj(9, zlib.DEFLATED, -13, 5, zlib.Z_DEFAULT_STRATEGY, _DICTIONARY_1)
    packed = PACKED_MARK + _FORMAT_1 + compressor.compress(raw) + compressor.flush()
    return packed if len(packed) < len(raw) else raw


def unpack(stored: bytes) -> str:
    """The text a stored value holds, packed or (as written before packing, or too short to pack) plain."""
    if not stored.startswith(PACKED_MARK):
        return stored.decode()
    dictionary = _DICTIONARIES.get(stored[1:2])
    if dictionary is None:
        raise ValueError(f"a ledger value packed in an unknown format {stored[1:2]!r}")
    decompressor = zlib.decompressobj(-15, zdict=dictionary)  # any window up to deflate's largest
    text = decompressor.decompress(stored[2:]) + decompressor.flush()
    if not decompressor.eof:
        raise ValueError("a truncated packed ledger value")
    return text.decode()
