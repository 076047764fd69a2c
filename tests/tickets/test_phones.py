"""Phone numbers: normalisation on write, variants on lookup, matching through the desk."""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest

from tickets.errors import InvalidPhoneNumber
from tickets.lifecycle import Actor
from tickets.phones import PhoneParts, fast_e164, lookup_variants, normalize, normalize_fast, split_numbers
from tickets.schemas import CustomerCreate, PhoneIn
from tickets.service import ServiceDesk

NORMALIZE = [
    ("+86 138 0013 8000", "CN", PhoneParts("+8613800138000")),
    ("13800138000", "CN", PhoneParts("+8613800138000")),
    ("008613800138000", "CN", PhoneParts("+8613800138000")),
    ("8613800138000", "CN", PhoneParts("+8613800138000")),
    ("010-6552 9988", "CN", PhoneParts("+861065529988")),
    ("(010) 65529988", "CN", PhoneParts("+861065529988")),
    ("010-65529988/8021", "CN", PhoneParts("+861065529988", "8021")),
    ("010 6552 9988-8021", "CN", PhoneParts("+861065529988", "8021")),
    ("010 6552 9988 转 8021", "CN", PhoneParts("+861065529988", "8021")),
    ("010-65529988 ext. 12", "CN", PhoneParts("+861065529988", "12")),
    ("+49 30 123456", "CN", PhoneParts("+4930123456")),
    ("0044 20 7946 0018", "CN", PhoneParts("+442079460018")),
    ("030 123456", "DE", PhoneParts("+4930123456")),
]


@pytest.mark.parametrize(("raw", "region", "expected"), NORMALIZE)
def test_numbers_normalise_to_e164_with_extension(raw: str, region: str, expected: PhoneParts) -> None:
    assert normalize(raw, region) == expected


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("", "empty"),
        ("anonymous", "not a phone number"),
        ("65529988", "not a valid number for region CN"),  # local number without area code
        ("12345", "not a valid number"),
        ("1" * 80, "longer than"),
    ],
)
def test_invalid_numbers_are_refused_with_the_reason(raw: str, reason: str) -> None:
    with pytest.raises(InvalidPhoneNumber, match=reason):
        normalize(raw, "CN")


CALLER_IDS = [
    # (what the network sends, E.164 it must match)
    ("13800138000", "+8613800138000"),
    ("+8613800138000", "+8613800138000"),
    ("8613800138000", "+8613800138000"),
    ("008613800138000", "+8613800138000"),
    ("013800138000", "+8613800138000"),
    ("138 0013 8000", "+8613800138000"),
    ("138-0013-8000", "+8613800138000"),
    ("01065529988", "+861065529988"),
    ("861065529988", "+861065529988"),
    ("010/65529988", "+861065529988"),
    ("010-65529988/8021", "+861065529988"),
    ("4930123456", "+4930123456"),  # international without the +
    ("+49 30 123456", "+4930123456"),
]


@pytest.mark.parametrize(("caller", "e164"), CALLER_IDS)
def test_caller_id_variants_include_the_stored_number(caller: str, e164: str) -> None:
    assert e164 in lookup_variants(caller, "CN")


@pytest.mark.parametrize("caller", ["", "anonymous", "unknown", "+", "Restricted", "0"])
def test_withheld_or_garbage_caller_ids_have_no_variants(caller: str) -> None:
    assert lookup_variants(caller, "CN") == []


def test_a_cell_with_several_numbers_splits_but_keeps_extensions() -> None:
    cell = "138-0013-8000 / 139 0013 9000; 010-65529988/8021，+49 30 123456"
    assert split_numbers(cell) == ["138-0013-8000", "139 0013 9000", "010-65529988/8021", "+49 30 123456"]


STORED_AND_CALLED = [
    # (stored as typed by an agent, caller id from the network)
    ("+86 138 0013 8000", "13800138000"),
    ("138 0013 8000", "+8613800138000"),
    ("138/0013/8000", "008613800138000"),
    ("010-6552 9988", "861065529988"),
    ("(010)65529988 ext 123", "01065529988"),
    ("010-65529988/8021", "+86 10 6552 9988"),
    ("+49 30 123456", "004930123456"),
]


@pytest.mark.parametrize(("stored", "caller"), STORED_AND_CALLED)
async def test_desk_matches_a_caller_whatever_the_form(desk: ServiceDesk, stored: str, caller: str) -> None:
    created = await desk.customers.create(
        CustomerCreate(name="Match", phones=[PhoneIn(number=stored)]), Actor("1001")
    )
    found = await desk.customers.find_by_phone(caller)
    assert [c.id for c in found] == [created.id]


async def test_a_number_shared_by_several_customers_finds_them_all(desk: ServiceDesk) -> None:
    actor = Actor("1001")
    ids = [
        (
            await desk.customers.create(
                CustomerCreate(name=n, phones=[PhoneIn(number="010-65529988")]), actor
            )
        ).id
        for n in ("前台 Reception", "物业 Property office")
    ]
    assert sorted(c.id for c in await desk.customers.find_by_phone("01065529988")) == sorted(ids)


async def test_an_invalid_number_is_refused_naming_its_field(desk: ServiceDesk) -> None:
    data = CustomerCreate(name="X", phones=[PhoneIn(number="13800138000"), PhoneIn(number="12")])
    with pytest.raises(InvalidPhoneNumber) as caught:
        await desk.customers.create(data, Actor("1001"))
    assert caught.value.field == "phones[1].number"
    assert await desk.customers.search() == []


def test_a_local_caller_id_is_read_with_the_call_centers_area_code() -> None:
    # Many trunks send a caller from the same city without the area code.
    assert lookup_variants("65529988", "CN") == []
    assert lookup_variants("65529988", "CN", area_code="10") == ["+861065529988"]
    assert lookup_variants("6552 9988", "CN", area_code="10") == ["+861065529988"]
    assert lookup_variants("87654321", "CN", area_code="21") == ["+862187654321"]  # Shanghai
    # Complete numbers are read as they are, not as local ones.
    assert lookup_variants("13800138000", "CN", area_code="10") == ["+8613800138000"]
    assert lookup_variants("02087654321", "CN", area_code="10") == ["+862087654321"]
    assert lookup_variants("+4930123456", "CN", area_code="10") == ["+4930123456"]


def _outcome(fn: Callable[[str, str], PhoneParts], raw: str, region: str) -> object:
    try:
        return fn(raw, region)
    except InvalidPhoneNumber as exc:
        return ("refused", str(exc))


def _random_inputs(rng: random.Random, count: int) -> list[str]:
    starts = [
        "1",
        "13",
        "139",
        "15",
        "17",
        "179",
        "1790",
        "18",
        "19",
        "14",
        "16",
        "12",
        "11",
        "10",
        "2",
        "21",
        "4",
        "400",
        "8",
        "86",
        "861",
        "9",
        "3",
        "5",
        "6",
        "7",
        "755",
        "0",
        "00",
        "+86",
        "+49",
    ]
    out = []
    for _ in range(count):
        digits = rng.choice(starts) + "".join(rng.choice("0123456789") for _ in range(rng.randint(0, 14)))
        if rng.random() < 0.3:  # punctuation as people type it
            at = rng.randint(1, max(1, len(digits) - 1))
            digits = digits[:at] + rng.choice([" ", "-", " - ", "(", ")", "."]) + digits[at:]
        out.append(digits)
    return out


@pytest.mark.parametrize("region", ["CN", "DE", "FR", "JP", "IN", "GB", "US"])
def test_the_fast_normaliser_answers_exactly_as_normalize(region: str) -> None:
    """`normalize_fast` must never differ from `normalize` (same number, same refusal)."""
    rng = random.Random(f"phones-{region}")
    inputs = _random_inputs(rng, 20_000)
    inputs += ["13800138000", "138 0013 8000", "139-0001-2345", "(139) 0001 2345", "4930123456", "65529988"]
    inputs += ["010-6552 9988", "(010) 65529988", "0755 8888 6666", "0139 0001 2345", "065529988"]
    inputs += ["030 123456", "01 23 45 67 89", "011 2345 6789", "03-1234-5678", "0010 6552 9988", "0086 10"]
    inputs += ["0 0", "00"]
    inputs += [f"0{n}" for n in inputs if n[:1].isdigit() and n[:1] != "0"]  # each again with a trunk 0
    normalize_fast.cache_clear()
    differ = [
        (raw, _outcome(normalize, raw, region), _outcome(normalize_fast, raw, region))
        for raw in inputs
        if _outcome(normalize, raw, region) != _outcome(normalize_fast, raw, region)
    ]
    assert differ == []
    valid = [raw for raw in inputs if not isinstance(_outcome(normalize, raw, region), tuple)]
    taken = [raw for raw in valid if fast_e164(raw, region) is not None]
    if region in ("GB", "US"):  # country codes shared by several regions: always phonenumbers
        assert taken == []
    else:  # the fast lane is not a no-op, with or without the trunk prefix
        assert len(taken) > len(valid) / 4, (len(taken), len(valid))
        # JP's trunk prefix comes with a transform rule: phonenumbers decides those
        assert any(raw.startswith("0") for raw in taken) == (region != "JP")
