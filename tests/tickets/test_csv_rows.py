"""The import's fast row lane answers exactly as `parse_row` (pydantic) does, row for row."""

from __future__ import annotations

import csv
import io
import random

from tickets.csv_io import ALIASES, COLUMNS, CsvRows, RowParser, parse_row


def _outcome(parse: object, *args: object) -> object:
    try:
        return parse(*args)  # type: ignore[operator]
    except Exception as exc:  # the kind of refusal and what it names
        return type(exc).__name__, str(exc), getattr(exc, "field", None)


_CELLS = {
    "name": [
        "王小明",
        "",
        " ",
        " 李四 ",
        "Anna Caller",
        "O'Brien",
        "x" * 200,
        "x" * 201,
        "'=SUM(A1)",
        "a\x00b",
    ],
    "company": ["", "阳光物业", "c" * 200, "c" * 201, "@SUM(A1)", "'@SUM(A1)"],
    "phones": [
        "13800138000",
        "138 0013 8000",
        "+86 138 0013 8000; 010-6552 9988/8021",
        "138 0013 8000 / 139 0013 9000",
        "12345",
        "",
        " ; ",
        "13900139000;13900139000",
        "13900139000，13700137000",
        ";".join(f"1390013{i:04d}" for i in range(21)),
        "1" * 65,
        "+49 30 123456",
        "010-65529988",
        "0755 8888 6666",
        "'+8613900139000",
    ],
    "tier": ["", "vip", "VIP", " Vip ", "gold", "战略", "贵宾", "ordinary", "RISK"],
    "address": ["", "朝阳区建国路 88 号", "a" * 500, "a" * 501],
    "email": ["", "w@example.cn", "not-an-email", "a b@example.cn", "x@" + "e" * 320 + ".cn", "WU@x.cn"],
    "tags": ["", "物业;合同", "物业；合同;物业", "a, b", ";".join(f"t{i}" for i in range(31)), "t" * 41],
    "notes": ["", "大客户", "-1+1", "n" * 4000, "n" * 4001],
}


def _file(rng: random.Random, header: list[str], rows: int) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    for _ in range(rows):
        cells = [rng.choice(_CELLS.get(ALIASES.get(h, h), ["junk", ""])) for h in header]
        if rng.random() < 0.05:
            cells = cells[: rng.randint(1, len(cells))]  # a short row
        writer.writerow(cells)
    return out.getvalue()


def test_the_fast_lane_parses_every_row_as_parse_row_does() -> None:
    rng = random.Random("csv-rows")
    headers = [
        list(COLUMNS),
        ["姓名", "电话", "等级", "邮箱", "extra"],
        ["phones", "name", "name", "tags"],  # a repeated column: the later one counts
        ["name"],
    ]
    fast = compared = 0
    for header in headers:
        text = _file(rng, header, 3000)
        rows = CsvRows(io.StringIO(text))
        parser = RowParser(rows.header, "CN")
        canonical = [ALIASES.get(h, h) for h in header]
        for _, cells in rows:
            reference = _outcome(parse_row, dict(zip(canonical, cells, strict=False)), "CN")
            assert _outcome(parser, cells) == reference, cells
            fast += parser.fast([*cells]) is not None if len(cells) >= len(header) else 0
            compared += 1
    assert compared > 11_000  # blank rows are skipped
    assert fast > compared / 10, (fast, compared)  # the fast lane is not a no-op
