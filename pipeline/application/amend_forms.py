"""The forms that fix a claim's data, one per section of the event (referral, prescription, coverage, client,
session, payment): which fields each has, how to fill one from the claim's event, and how a filled form
becomes an amendment (the same JSON an expert would type). Typing mistakes are left to the event's own
validation, which names each field by its path.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

Kind = Literal["text", "date", "int", "bool", "select", "list", "cpts", "services"]
CPTS = ("97124", "97140")
SERVICE_LINES = 4


@dataclass(frozen=True)
class FormField:
    name: str  # the path inside the section, dotted: "physician.npi"
    label: str
    kind: Kind = "text"
    options: tuple[str, ...] = ()
    required: bool = False
    hint: str = ""


@dataclass(frozen=True)
class SectionForm:
    section: str
    title: str
    fields: tuple[FormField, ...]


def _f(name: str, label: str, kind: Kind = "text", *options: str, required: bool = False,
       hint: str = "") -> FormField:
    return FormField(name, label, kind, tuple(options), required, hint)


FORMS: dict[str, SectionForm] = {f.section: f for f in (
    SectionForm("va_referral", "VA referral", (
        _f("referral_number", "Referral number", required=True, hint="e.g. VA0012345678 or 123-456789-01"),
        _f("administrator", "Administrator", "select", "optum", "triwest", required=True),
        _f("approved_on", "Approved on", "date", required=True),
        _f("valid_from", "Valid from", "date", required=True),
        _f("valid_until", "Valid until", "date", required=True),
        _f("visits_authorized", "Visits authorised", "int", required=True),
        _f("procedures", "Procedures authorised", "cpts"),
        _f("region", "Region", "int"),
        _f("seoc", "SEOC"),
    )),
    SectionForm("prescription", "Prescription", (
        _f("physician.first_name", "Physician's first name", required=True),
        _f("physician.last_name", "Physician's last name", required=True),
        _f("physician.npi", "Physician's NPI", required=True, hint="10 digits"),
        _f("issued_on", "Issued on", "date", required=True),
        _f("expires_on", "Expires on", "date"),
        _f("signed", "Signed by the physician", "bool"),
        _f("diagnosis_codes", "Diagnosis codes", "list", hint="ICD-10-CM, comma separated, e.g. M54.50, M62.830"),
        _f("procedures", "Procedures prescribed", "cpts"),
        _f("treatments_authorized", "Treatments authorised", "int"),
        _f("prescription_id", "Prescription id"),
    )),
    SectionForm("coverage", "Coverage", (
        _f("kind", "Kind", "select", "va_ccn", "commercial", "self_pay", required=True),
        _f("member_id", "Member id"),
        _f("payer_name", "Payer name", hint="commercial only"),
        _f("payer_id", "Payer id"),
        _f("group_number", "Group number"),
        _f("courtesy_submission", "Client asked for a courtesy submission", "bool"),
    )),
    SectionForm("client", "Client", (
        _f("first_name", "First name", required=True),
        _f("last_name", "Last name", required=True),
        _f("date_of_birth", "Date of birth", "date", required=True),
        _f("sex", "Sex", "select", "U", "F", "M"),
        _f("address.line1", "Address", required=True),
        _f("address.line2", "Address line 2"),
        _f("address.city", "City", required=True),
        _f("address.state", "State", required=True, hint="two letters, e.g. IL"),
        _f("address.postal_code", "ZIP code", required=True),
        _f("email", "E-mail"),
        _f("phone", "Phone"),
    )),
    SectionForm("session", "Session", (
        _f("therapist_id", "Therapist id", required=True),
        _f("place_of_service", "Place of service", "select", "11", "12", hint="11 office, 12 home"),
        _f("goal", "Goal", "select", "", "functional", "relaxation"),
        _f("services", "Services", "services"),
    )),
    SectionForm("payment", "Payment", (
        _f("amount_collected", "Amount collected", required=True, hint="e.g. 60.00"),
        _f("method", "Method", "select", "card", "cash", "check", "hsa", "fsa", "none", required=True),
    )),
)}

_INT = re.compile(r"^-?\d+$")
_INDEX = re.compile(r"\[(\d+)\]")
_SPLIT = re.compile(r"[,;\s]+")


def _get(section: Mapping[str, Any], dotted: str) -> Any:
    value: Any = section
    for part in dotted.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def form_values(section: str, document: Mapping[str, Any]) -> dict[str, str]:
    """The form's fields filled from the claim's event (every value as the form shows it)."""
    form = FORMS[section]
    raw = document.get(section)
    data: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {}
    values: dict[str, str] = {}
    for f in form.fields:
        value = _get(data, f.name)
        if f.kind == "services":
            for i, line in enumerate((value or [])[:SERVICE_LINES]):
                if isinstance(line, Mapping):
                    for key in ("cpt", "minutes", "body_region"):
                        values[f"services.{i}.{key}"] = "" if line.get(key) is None else str(line.get(key))
        elif f.kind == "bool":
            values[f.name] = "1" if value is True else ""
        elif f.kind in ("list", "cpts"):
            values[f.name] = ", ".join(str(v) for v in value or [])
        else:
            values[f.name] = "" if value is None else str(value)
    return values


def typed_values(section: str, form: Mapping[str, Any], getlist: Any = None) -> dict[str, str]:
    """What was typed into a section's form, as the form shows it again (kept on an error)."""
    out: dict[str, str] = {}
    for f in FORMS[section].fields:
        if f.kind == "services":
            for i in range(SERVICE_LINES):
                for key in ("cpt", "minutes", "body_region"):
                    out[f"services.{i}.{key}"] = str(form.get(f"services.{i}.{key}") or "")
        elif f.kind == "cpts":
            chosen = list(getlist(f.name)) if getlist else [form.get(f.name)]
            out[f.name] = ", ".join(str(c) for c in chosen if c)
        else:
            out[f.name] = str(form.get(f.name) or "")
    return out


def patch_from(section: str, values: Mapping[str, str]) -> dict[str, Any]:
    """The amendment a filled form means: `{section: {...}}`. An empty optional field is `null` (not sent);
    an empty required one stays empty, so validation names it."""
    body: dict[str, Any] = {}
    for f in FORMS[section].fields:
        if f.kind == "services":
            lines = []
            for i in range(SERVICE_LINES):
                cpt, minutes, region = (values.get(f"services.{i}.{k}", "").strip()
                                        for k in ("cpt", "minutes", "body_region"))
                if cpt or minutes or region:
                    lines.append({"cpt": cpt, "minutes": int(minutes) if _INT.match(minutes) else minutes,
                                  "body_region": region})
            body["services"] = lines
            continue
        raw = values.get(f.name, "").strip()
        value: Any
        if f.kind == "bool":
            value = raw not in ("", "0", "false")
        elif f.kind in ("list", "cpts"):
            value = [v for v in _SPLIT.split(raw) if v]
            if f.kind == "cpts" and not value:
                value = None
        elif f.kind == "int":
            value = int(raw) if _INT.match(raw) else (raw or None)
        else:
            value = raw if raw or f.required else None
        target = body
        *parents, leaf = f.name.split(".")
        for part in parents:
            target = target.setdefault(part, {})
        target[leaf] = value
    return {section: body}


def field_of(section: str, path: str) -> str | None:
    """The name of the form field an error's path points at (`va_referral.visits_authorized` ->
    `visits_authorized`, `prescription.diagnosis_codes[1]` -> `diagnosis_codes`, `session.services[0].minutes` ->
    `services.0.minutes`), so the page can show the error beside it; None when the path is not one of this
    section's fields (then it is shown above the form)."""
    if section not in FORMS or not path.startswith(section + "."):
        return None
    dotted = _INDEX.sub(r".\1", path[len(section) + 1:])
    names = {f.name: f for f in FORMS[section].fields}
    parts = dotted.split(".")
    for end in range(len(parts), 0, -1):  # the longest prefix that is a field: `diagnosis_codes.1` -> the list
        name = ".".join(parts[:end])
        if name in names:
            return dotted if names[name].kind == "services" and end < len(parts) else name
    return None


def label_of(section: str, name: str) -> str:
    """A field's label as its form shows it (`services.0.minutes` -> `Services, line 1, minutes`)."""
    fields = {f.name: f for f in FORMS[section].fields} if section in FORMS else {}
    if name in fields:
        return fields[name].label
    parts = name.split(".")
    if len(parts) == 3 and parts[0] in fields and parts[1].isdigit():
        return f"{fields[parts[0]].label}, line {int(parts[1]) + 1}, {parts[2].replace('_', ' ')}"
    return name
