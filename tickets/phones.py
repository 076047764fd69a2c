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
from functools import lru_cache

import phonenumbers
from phonenumbers import NumberParseException, PhoneMetadata, PhoneNumberFormat

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


_PUNCTUATION = str.maketrans("", "", " -().")
_Desc = tuple[frozenset[int], re.Pattern[str]]


@dataclass(frozen=True, slots=True)
class _RegionRules:
    """What `phonenumbers` checks for a plain national number of one region, compiled once."""

    country_code: str
    idd: re.Pattern[str] | None
    national_prefix: re.Pattern[str] | None
    # a trunk prefix (`0` in `010-6552 9988`) phonenumbers just drops: no transform rule for it
    trunk: re.Pattern[str] | None
    general: _Desc
    local_only: frozenset[int]  # lengths phonenumbers would not strip a trunk prefix down to
    types: tuple[_Desc, ...]
    # Per length, the general pattern as a lookahead and one alternation of the patterns of every
    # type that allows that length: it fullmatches exactly when the general pattern and one of
    # them would (the same answer, one regex call); None when the length is not possible.
    by_length: dict[int, re.Pattern[str] | None]

    def valid(self, national: str) -> bool:
        combined = self.by_length.get(len(national), _UNSET)
        if combined is _UNSET:
            return _matches(self.general, national) and any(_matches(d, national) for d in self.types)
        return combined is not None and combined.fullmatch(national) is not None


_UNSET = re.compile("(?!)")  # a sentinel: this length has no precomputed alternation


def _matches(desc: _Desc, national: str) -> bool:
    lengths, pattern = desc
    return (not lengths or len(national) in lengths) and pattern.fullmatch(national) is not None


@lru_cache(maxsize=64)
def _rules(region: str) -> _RegionRules | None:
    meta = PhoneMetadata.metadata_for_region(region.upper())
    if meta is None or meta.country_code is None:
        return None
    if phonenumbers.region_codes_for_country_code(meta.country_code) != (region.upper(),):
        return None  # +1, +7, +44 ...: the number's region is decided among several, leave it to phonenumbers

    def compiled(pattern: str | None) -> re.Pattern[str] | None:
        return re.compile(pattern) if pattern else None

    def desc(d: object) -> _Desc | None:
        pattern = getattr(d, "national_number_pattern", None)
        if not pattern:
            return None
        return frozenset(getattr(d, "possible_length", ()) or ()), re.compile(pattern)

    general = desc(meta.general_desc)
    if general is None:
        return None
    kinds = (
        meta.premium_rate, meta.toll_free, meta.shared_cost, meta.voip, meta.personal_number,
        meta.pager, meta.uan, meta.voicemail, meta.fixed_line, meta.mobile,
    )  # fmt: skip
    types = tuple(d for d in map(desc, kinds) if d is not None)
    by_length: dict[int, re.Pattern[str] | None] = {}
    for size in range(2, 18):
        allowed = [p.pattern for lengths, p in types if not lengths or size in lengths]
        possible = not general[0] or size in general[0]
        alternation = "|".join(f"(?:{p})" for p in allowed)
        by_length[size] = (
            re.compile(f"(?=(?:{general[1].pattern})\\Z)(?:{alternation})") if allowed and possible else None
        )
    return _RegionRules(
        country_code=str(meta.country_code),
        idd=compiled(meta.international_prefix),
        national_prefix=compiled(meta.national_prefix_for_parsing),
        trunk=None if meta.national_prefix_transform_rule else compiled(meta.national_prefix_for_parsing),
        general=general,
        local_only=frozenset(getattr(meta.general_desc, "possible_length_local_only", ()) or ()),
        types=types,
        by_length=by_length,
    )


@lru_cache(maxsize=1 << 16)
def normalize_fast(raw: str, region: str) -> PhoneParts:
    """`normalize` with the same answers, ~10x quicker on the common form (what a bulk import
    sees: a national number of the home region, digits with spaces or dashes), and cached.

    A plain national number (no `+`, no trunk `0`, no international or carrier prefix, not
    starting with the country code) is parsed by `phonenumbers` to exactly those digits, so it
    is checked here against the region's own patterns, the checks `is_valid_number` makes.
    Anything else, and every number not valid that way, goes through `normalize` (which also
    says why a number is refused). `tests/tickets/test_phones.py` compares the two on 10^5 inputs.
    """
    e164 = fast_e164(raw, region)
    return normalize(raw, region) if e164 is None else PhoneParts(e164)


def fast_e164(raw: str, region: str) -> str | None:
    """The E.164 form of a plain, valid national number of `region`, typed with or without its
    trunk prefix; None for anything else."""
    rules = _rules(region)
    digits = raw.strip().translate(_PUNCTUATION)
    if (
        rules is None
        or not (2 <= len(digits) <= 17)
        or not digits.isascii()
        or not digits.isdigit()
        or len(raw.strip()) > _MAX_RAW
        or (rules.idd is not None and rules.idd.match(digits))
    ):
        return None
    if digits[0] == "0":
        national = _without_trunk(rules, digits)
    elif digits.startswith(rules.country_code) or (
        rules.national_prefix is not None and rules.national_prefix.match(digits)
    ):
        return None
    else:
        national = digits
    if national is None or not rules.valid(national):
        return None
    return "+" + rules.country_code + national


def _without_trunk(rules: _RegionRules, digits: str) -> str | None:
    """The national number phonenumbers parses `digits` (leading `0`) to, when it just strips a
    trunk prefix: the prefix has no transform rule, what remains is not cut to a local-only
    length and keeps no leading zero (phonenumbers' "Italian" zeros). None otherwise."""
    found = rules.trunk.match(digits) if rules.trunk is not None else None
    if found is None or not rules.general[0]:
        return None
    national = digits[found.end() :]
    if not national or national[0] == "0" or len(national) in rules.local_only:
        return None
    return national


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
    if "/" not in text:  # the common cell: the loop below would keep each stripped chunk
        chunks = _LIST_SPLIT.split(text)
        if len(chunks) == 1:
            return [text.strip()] if text.strip() else []
        return [part for part in map(str.strip, chunks) if part]
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
