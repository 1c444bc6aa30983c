"""Fault injection for the sandbox peers: the spec string, its parser, and the dice.

A spec is a comma-separated list of ``key=value`` pairs, for example
``error_rate=0.3,timeout_rate=0.1,reject_rate=0,latency_ms=50,hang_ms=3000``.
An empty spec means no faults at all.

| key | meaning | default |
|---|---|---|
| ``error_rate`` | share of peer calls answered 503/500/429 without being processed | 0 |
| ``timeout_rate`` | share of peer calls processed (and recorded), then held ``hang_ms`` | 0 |
| ``reject_rate`` | share of taken submissions rejected at the claim level | 0 |
| ``latency_ms`` | sleep before answering every peer call | 0 |
| ``hang_ms`` | how long a ``timeout_rate`` call is held before its answer | 3000 |
| ``ack_delay_ms`` | how long a pending 277CA stays pending | 0 |
| ``ack_mode`` | ``immediate``, ``mixed`` (about half pending) or ``poll`` (all pending) | see below |
| ``deny_rate`` | share of accepted claims the payer denies in its remittance (835): paid 0, a CARC and RARC | 0 |
| ``underpay_rate`` | share of accepted claims paid less than charged (CO-45) | 0 |
| ``remit_delay_ms`` | how long after a claim is accepted its remittance (835) can be fetched | 1000 |
| ``remit_duplicate_rate`` | share of remittance files delivered twice (the same 835 under two cursors) | 0 |
| ``list_delay_ms`` | Stedi's shape: how long a new transaction stays out of its poll (Stedi: 15000) | 0 |
| ``seed`` | seed of the random source, for reproducible runs | none |

``ack_mode`` defaults to ``mixed`` when ``ack_delay_ms`` is above 0 and to ``immediate``
otherwise. A pending 277CA is decided at the first status poll made ``ack_delay_ms`` or more
after the submission was taken.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, fields
from typing import Literal

AckMode = Literal["immediate", "mixed", "poll"]
ACK_MODES: tuple[AckMode, ...] = ("immediate", "mixed", "poll")

_RATE_KEYS = ("error_rate", "timeout_rate", "reject_rate", "deny_rate", "underpay_rate", "remit_duplicate_rate")
_MS_KEYS = ("latency_ms", "hang_ms", "ack_delay_ms", "remit_delay_ms", "list_delay_ms")
DEFAULT_REMIT_DELAY_MS = 1000
DEFAULT_HANG_MS = 3000


@dataclass(frozen=True)
class Faults:
    """What the sandbox peers do wrong, and how often. All rates are in [0, 1]."""

    error_rate: float = 0.0
    timeout_rate: float = 0.0
    reject_rate: float = 0.0
    latency_ms: int = 0
    hang_ms: int = DEFAULT_HANG_MS
    ack_delay_ms: int = 0
    ack_mode: AckMode | None = None
    seed: int | None = None
    deny_rate: float = 0.0
    underpay_rate: float = 0.0
    remit_delay_ms: int = DEFAULT_REMIT_DELAY_MS
    remit_duplicate_rate: float = 0.0
    list_delay_ms: int = 0

    def __post_init__(self) -> None:
        for key in _RATE_KEYS:
            value = getattr(self, key)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{key} must be between 0 and 1, got {value!r}")
        for key in _MS_KEYS:
            if getattr(self, key) < 0:
                raise ValueError(f"{key} must not be negative, got {getattr(self, key)!r}")
        if self.ack_mode is not None and self.ack_mode not in ACK_MODES:
            raise ValueError(f"ack_mode must be one of {', '.join(ACK_MODES)}, got {self.ack_mode!r}")

    @property
    def effective_ack_mode(self) -> AckMode:
        """The 277CA mode in force: explicit, else ``mixed`` with a delay, else ``immediate``."""
        if self.ack_mode is not None:
            return self.ack_mode
        return "mixed" if self.ack_delay_ms > 0 else "immediate"

    def to_spec(self) -> str:
        """The canonical spec string: only the keys that differ from the defaults."""
        default = Faults()
        parts = []
        for f in fields(self):
            value = getattr(self, f.name)
            if value != getattr(default, f.name):
                parts.append(f"{f.name}={_format(value)}")
        return ",".join(parts)

    def as_dict(self) -> dict[str, object]:
        """A JSON-safe view, with the 277CA mode resolved."""
        out: dict[str, object] = {f.name: getattr(self, f.name) for f in fields(self)}
        out["ack_mode"] = self.effective_ack_mode
        return out


def _format(value: object) -> str:
    if isinstance(value, float):
        return repr(value).removesuffix(".0") if value.is_integer() else repr(value)
    return str(value)


def parse_faults(spec: str) -> Faults:
    """Parse a spec such as ``error_rate=0.3,latency_ms=50``.

    Raises ValueError naming the offending key for an unknown key, a repeated key, a value
    that is not a number of the right kind, or a rate outside [0, 1].
    """
    values: dict[str, object] = {}
    for raw in spec.split(","):
        item = raw.strip()
        if not item:
            continue
        key, sep, text = item.partition("=")
        key, text = key.strip(), text.strip()
        if not sep:
            raise ValueError(f"fault {key!r} needs a value (key=value)")
        if key in values:
            raise ValueError(f"fault {key!r} given twice")
        if key in _RATE_KEYS:
            try:
                rate = float(text)
            except ValueError:
                raise ValueError(f"fault {key!r} must be a number between 0 and 1, got {text!r}") from None
            if not 0.0 <= rate <= 1.0:
                raise ValueError(f"fault {key!r} must be between 0 and 1, got {text!r}")
            values[key] = rate
        elif key in _MS_KEYS or key == "seed":
            try:
                number = int(text)
            except ValueError:
                raise ValueError(f"fault {key!r} must be a whole number, got {text!r}") from None
            if number < 0 and key != "seed":
                raise ValueError(f"fault {key!r} must not be negative, got {text!r}")
            values[key] = number
        elif key == "ack_mode":
            if text not in ACK_MODES:
                raise ValueError(f"fault 'ack_mode' must be one of {', '.join(ACK_MODES)}, got {text!r}")
            values[key] = text
        else:
            raise ValueError(f"unknown fault {key!r}")
    return Faults(**values)  # type: ignore[arg-type]


ErrorFault = tuple[int, dict[str, str]]

# The transient answers an overloaded peer gives: status code and extra headers.
_ERROR_ANSWERS: tuple[ErrorFault, ...] = (
    (503, {"Retry-After": "0"}),
    (503, {}),
    (500, {}),
    (429, {"Retry-After": "0"}),
)


class Dice:
    """The sandbox's one random source. Not thread-safe: callers hold the state lock."""

    def __init__(self, seed: int | None = None) -> None:
        self._random = random.Random(seed)

    def reseed(self, seed: int | None) -> None:
        self._random.seed(seed)

    def roll(self, rate: float) -> bool:
        """True with probability ``rate`` (never for 0, always for 1)."""
        if rate <= 0.0:
            return False
        if rate >= 1.0:
            return True
        return self._random.random() < rate

    def pick(self, options: tuple[str, ...]) -> str:
        return self._random.choice(options)

    def error_answer(self) -> ErrorFault:
        """One of the transient failures, mixed: 503 with or without Retry-After, 500, 429."""
        return self._random.choice(_ERROR_ANSWERS)

    def digits(self, n: int) -> str:
        return "".join(self._random.choice("0123456789") for _ in range(n))
