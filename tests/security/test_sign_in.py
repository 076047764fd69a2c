"""Sign-in under attack: throttled per login and per address (429 + Retry-After), the same
answer and the same work for unknown logins and wrong passwords, all of it on the audit log."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import httpx
from sqlmodel import col, select

from agent_ui.passwords import PasswordChecker
from agent_ui.throttle import Limit, MemoryThrottle
from audit.models import AuditEntry
from tests.forms import post_form
from tests.harness import Hotline, running_hotline


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_the_throttle_counts_per_key_refuses_at_the_limit_and_forgets_after_the_window() -> None:
    clock = Clock()
    throttle = MemoryThrottle({"login": Limit(3, 60), "address": Limit(5, 60)}, clock=clock)
    ann = [("login", "ann"), ("address", "10.0.0.1")]
    assert [await throttle.attempt(ann) for _ in range(3)] == [None, None, None]
    clock.now += 10
    assert await throttle.attempt(ann) == 50  # until the first attempt leaves the window
    bob = [("login", "bob"), ("address", "10.0.0.1")]
    assert await throttle.attempt(bob) is None and await throttle.attempt(bob) is None
    assert await throttle.attempt([("login", "cy"), ("address", "10.0.0.1")]) == 50  # the address is full
    await throttle.succeeded(bob)  # a correct password gives its attempt back
    assert await throttle.attempt([("login", "cy"), ("address", "10.0.0.1")]) is None
    clock.now += 51
    assert await throttle.attempt(ann) is None


async def test_the_throttle_keeps_a_bounded_number_of_keys() -> None:
    throttle = MemoryThrottle({"address": Limit(2, 60)}, clock=Clock(), max_keys=100)
    for i in range(1000):
        await throttle.attempt([("address", f"10.0.{i // 256}.{i % 256}")])
    assert len(throttle._log) == 100


class CountingChecker(PasswordChecker):
    """The real checker, counting the hashes it was asked to check (and against what)."""

    def __init__(self) -> None:
        super().__init__()
        self.checked: Counter[str] = Counter()

    async def verify(self, password: str, hashed: str | None) -> bool:
        self.checked["dummy" if hashed is None else "real"] += 1
        return await super().verify(password, hashed)


async def _audit(hotline: Hotline) -> list[AuditEntry]:
    async with hotline.container.sessions() as session:
        return list((await session.exec(select(AuditEntry).order_by(col(AuditEntry.seq)))).all())


async def test_unknown_logins_and_wrong_passwords_get_the_same_answer_after_the_same_work(
    database_url: str, tmp_path: Path
) -> None:
    async with running_hotline(database_url, tmp_path) as hotline:
        checker = CountingChecker()
        hotline.container.auth.passwords.close()
        hotline.container.auth.passwords = checker
        async with httpx.AsyncClient(base_url=hotline.base_url) as client:
            unknown = await client.post("/api/auth/login", json={"login": "nobody", "password": "x"})
            wrong = await client.post("/api/auth/login", json={"login": "1001", "password": "x"})
            disabled_like = await client.post(
                "/api/auth/login", json={"login": "NOBODY2", "password": "demo"}
            )
        assert unknown.status_code == wrong.status_code == disabled_like.status_code == 401
        assert unknown.json() == wrong.json() == disabled_like.json()
        assert unknown.headers.keys() == wrong.headers.keys()
        assert checker.checked == Counter(dummy=2, real=1)  # one Argon2 check each, real or dummy
        failed = [(e.action, e.actor, e.outcome, e.detail["reason"]) for e in await _audit(hotline)]
        assert failed == [
            ("auth.sign_in_failed", "nobody", "failed", "unknown_login"),
            ("auth.sign_in_failed", "1001", "failed", "wrong_password"),
            ("auth.sign_in_failed", "NOBODY2", "failed", "unknown_login"),
        ]


async def test_a_login_is_throttled_after_five_attempts_even_with_the_right_password(
    database_url: str, tmp_path: Path
) -> None:
    async with running_hotline(database_url, tmp_path) as hotline:
        async with httpx.AsyncClient(base_url=hotline.base_url) as client:
            wrong = [
                await client.post("/api/auth/login", json={"login": "1001", "password": "x"})
                for _ in range(5)
            ]
            right = await client.post("/api/auth/login", json={"login": "1001", "password": "demo"})
            other = await client.post("/api/auth/login", json={"login": "1002", "password": "demo"})
            page = await client.get("/login")
        assert [r.status_code for r in wrong] == [401] * 5
        assert right.status_code == 429 and right.json()["error_id"] == "too_many_attempts"
        assert 1 <= int(right.headers["retry-after"]) <= 300
        assert other.status_code == 200  # another login from the same address is not locked out
        assert page.status_code == 200
        trail = [(e.action, e.outcome) for e in await _audit(hotline)]
        assert trail == [("auth.sign_in_failed", "failed")] * 5 + [
            ("auth.sign_in_throttled", "refused"),
            ("auth.sign_in", "ok"),
        ]


async def test_an_address_is_throttled_across_logins_and_the_form_says_so(
    database_url: str, tmp_path: Path
) -> None:
    async with running_hotline(database_url, tmp_path, signin_attempts_per_address=4) as hotline:
        async with httpx.AsyncClient(base_url=hotline.base_url) as client:
            for i in range(4):
                reply = await client.post("/api/auth/login", json={"login": f"guess{i}", "password": "x"})
                assert reply.status_code == 401
            refused = [
                await client.post("/api/auth/login", json={"login": f"more{i}", "password": "x"})
                for i in range(3)
            ]
            form = await post_form(client, "/login", {"login": "1001", "password": "demo"})
        assert {r.status_code for r in refused} == {429}
        assert (
            form.status_code == 429 and "Too many sign-in attempts" in form.text
        ) or "登录尝试次数过多" in form.text
        assert "retry-after" in form.headers
        throttled = [e for e in await _audit(hotline) if e.action == "auth.sign_in_throttled"]
        assert len(throttled) == 1  # one entry per lockout, not one per refused attempt
