"""Phone numbers: what a person types or the network sends → E.164 (+ extension).

Stored numbers are normalised once on write (`normalize`, strict: a valid number
or `InvalidPhoneNumber`); caller ids are matched with `lookup_variants`, which is
lenient because networks send national, `+86`, `0086`, `86…`, leading-0 and
punctuated forms. Both use the configured default region; `"0044 20 …"` read with
the wrong region is a different number, so the region is never guessed.

Extensions: phonenumbers understands `ext`/`x`/`转`-less forms only partly; a
trailing `/8021`, `-8021`, ` 8021` or `转8021` after a complete number is taken
as an extension when the part before it is a valid number and the whole is not.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat

from tickets.errors import InvalidPhoneNumber

_EXTENSION_SPLIT = re.compile(
    r"^(?P<main>.*\d)\s*(?:/|-|\s|转|分机|ext\.?|x|#|,)\s*(?P<ext>\d{1,6})\s*$", re.I
)
_LIST_SPLIT = re.compile(r"[;；,，|\n]+")
_MAX_RAW = 64
_LOCAL_DIGITS = (5, 8)  # a subscriber number without its area code (China: 7 or 8 digits)


@dataclass(frozen=True, slots=True)
class PhoneParts:
    e164: str
    extension: str = ""


def _parse(raw: str, region: str) -> phonenumbers.PhoneNumber | None:
    try:
        return phonenumbers.parse(raw, region)
    except NumberParseException:
        return None


def _e164(number: phonenumbers.PhoneNumber) -> str:
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


def normalize(raw: str, region: str) -> PhoneParts:
    """A valid number in E.164 plus its extension, or `InvalidPhoneNumber` saying why."""
    text = raw.strip()
    if not text:
        raise InvalidPhoneNumber(raw, "empty")
    if len(text) > _MAX_RAW:
        raise InvalidPhoneNumber(raw, f"longer than {_MAX_RAW} characters")
    number = _parse(text, region)
    if number is not None and phonenumbers.is_valid_number(number):
        return PhoneParts(_e164(number), number.extension or "")
    split = _EXTENSION_SPLIT.match(text)
    if split:
        main = _parse(split["main"], region)
        if main is not None and phonenumbers.is_valid_number(main):
            return PhoneParts(_e164(main), split["ext"])
    if number is None:
        raise InvalidPhoneNumber(raw, "not a phone number")
    raise InvalidPhoneNumber(raw, f"not a valid number for region {region}")


def lookup_variants(raw: str, region: str, area_code: str | None = None) -> list[str]:
    """E.164 forms a caller id may stand for, best first; empty for withheld/garbage ids.

    Tries the number as given (national, trunk-0, international prefix `00`), with the
    call center's own `area_code` in front of a local number (many trunks send a caller
    from the same city as `65529988`, not `010 6552 9988`), with a `+` in front
    (networks drop it: `8613800138000`, `4930123456`), and without a trailing
    extension. Only valid numbers are returned: stored numbers are valid.
    """
    text = raw.strip()
    if not text or len(text) > _MAX_RAW or not any(ch.isdigit() for ch in text):
        return []
    out: list[str] = []
    split = _EXTENSION_SPLIT.match(text)
    for candidate in (text, split["main"] if split else None):
        if candidate is not None:
            _add_valid(out, candidate, region)
    digits = re.sub(r"\D", "", text)
    if (
        not out
        and area_code
        and not text.startswith(("+", "0"))
        and _LOCAL_DIGITS[0] <= len(digits) <= _LOCAL_DIGITS[1]
    ):
        _add_valid(out, area_code + digits, region)
    if not out and not text.startswith("+"):
        # Only when the national and local readings fail: "+" + a national number can be a
        # valid foreign number, and a false variant would pop the wrong customer.
        _add_valid(out, "+" + digits, region)
    return out


def _add_valid(out: list[str], candidate: str, region: str) -> None:
    number = _parse(candidate, region)
    if number is not None and phonenumbers.is_valid_number(number):
        e164 = _e164(number)
        if e164 not in out:
            out.append(e164)


def split_numbers(text: str) -> list[str]:
    """A free-text list of numbers (CSV cell, form field) → the separate raw numbers.

    Separators are `;`, `,`, `|`, newlines and their full-width forms. A `/` between
    two complete numbers (`138 0013 8000 / 139 0013 9000`) also separates; a short
    tail after `/` is an extension and stays with its number.
    """
    parts: list[str] = []
    for chunk in _LIST_SPLIT.split(text):
        pieces = [p.strip() for p in chunk.split("/")]
        current = ""
        for piece in pieces:
            if current and sum(ch.isdigit() for ch in piece) >= 7:
                parts.append(current)
                current = piece
            else:
                current = f"{current}/{piece}" if current else piece
        if current.strip():
            parts.append(current.strip())
    return parts


def display(e164: str, region: str) -> str:
    """Human form: national for the home region, international otherwise."""
    number = _parse(e164, region)
    if number is None:
        return e164
    home = phonenumbers.region_code_for_number(number) == region.upper()
    fmt = PhoneNumberFormat.NATIONAL if home else PhoneNumberFormat.INTERNATIONAL
    return phonenumbers.format_number(number, fmt)
