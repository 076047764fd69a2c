"""The auditor's trail over HTTP: filters, paging, the CSV export, and verification that redirects."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from tests.forms import post_form
from tests.harness import running_hotline

INJECTION = '=HYPERLINK("http://evil.example","x")'


async def _failed_sign_in(client: httpx.AsyncClient, login: str) -> None:
    reply = await client.post("/api/auth/login", json={"login": login, "password": "wrong-password"})
    assert reply.status_code == 401


async def test_the_trail_filters_pages_and_exports_what_the_auditor_asked_for(
    database_url: str, tmp_path: Path
) -> None:
    async with running_hotline(database_url, tmp_path) as hotline:
        async with httpx.AsyncClient(base_url=hotline.base_url, timeout=10) as stranger:
            for login in ("mallory", "mallory", INJECTION):
                await _failed_sign_in(stranger, login)
        auditor = await hotline.sign_in("audit")
        everything = (await auditor.get("/api/audit/entries", params={"limit": 500})).json()

        failed = (await auditor.get("/api/audit/entries", params={"action": "auth.sign_in_failed"})).json()
        assert [e["actor"] for e in failed] == [INJECTION, "mallory", "mallory"]
        mallory = (await auditor.get("/api/audit/entries", params={"actor": "mallory"})).json()
        assert {e["action"] for e in mallory} == {"auth.sign_in_failed"} and len(mallory) == 2
        family = (await auditor.get("/api/audit/entries", params={"action": "auth."})).json()
        assert {e["action"] for e in family} == {"auth.sign_in_failed", "auth.sign_in"}
        # the login part finds the auditor's own entries (stored as role:login by some services)
        assert (await auditor.get("/api/audit/entries", params={"actor": "audit"})).json()[0][
            "actor"
        ] == "audit"
        searched = (await auditor.get("/api/audit/entries", params={"q": "evil.example"})).json()
        assert [e["actor"] for e in searched] == [INJECTION]

        future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
        assert (await auditor.get("/api/audit/entries", params={"since": future})).json() == []
        assert len(
            (await auditor.get("/api/audit/entries", params={"until": future, "limit": 500})).json()
        ) == len(everything)
        bad = await auditor.get("/api/audit/entries", params={"since": "yesterday"})
        assert bad.status_code == 422 and "since" in bad.text

        # keyset paging: two pages of two are the first four, in order, with no overlap
        first = (await auditor.get("/api/audit/entries", params={"limit": 2})).json()
        second = (
            await auditor.get("/api/audit/entries", params={"limit": 2, "before_seq": first[-1]["seq"]})
        ).json()
        assert [e["seq"] for e in first + second] == [e["seq"] for e in everything[:4]]

        export = await auditor.get("/api/audit/entries.csv", params={"action": "auth.sign_in_failed"})
        assert export.status_code == 200 and export.headers["content-type"].startswith("text/csv")
        assert "audit-trail_exported-" in export.headers["content-disposition"]
        rows = list(csv.DictReader(io.StringIO(export.text)))
        assert [r["actor"] for r in rows] == [
            "'" + INJECTION,
            "mallory",
            "mallory",
        ]  # shown as text, never run
        assert {r["action"] for r in rows} == {"auth.sign_in_failed"}
        dated = await auditor.get(
            "/api/audit/entries.csv", params={"since": "2026-01-01T00:00:00+08:00", "until": future}
        )
        assert "audit-trail_20260101-" in dated.headers["content-disposition"]
        newest = (await auditor.get("/api/audit/entries", params={"limit": 1})).json()[0]
        assert (newest["action"], newest["actor"]) == ("audit.export", "auditor:audit")
        assert newest["detail"]["since"].startswith("2026-01-01")

        agent = await hotline.sign_in("1001")
        assert (await agent.get("/api/audit/entries.csv")).status_code == 403
        await agent.aclose()
        await auditor.aclose()


async def test_the_page_shows_labels_keeps_filters_and_verification_survives_a_reload(
    database_url: str, tmp_path: Path
) -> None:
    async with running_hotline(database_url, tmp_path) as hotline:
        async with httpx.AsyncClient(base_url=hotline.base_url, timeout=10) as stranger:
            await _failed_sign_in(stranger, "<b>mallory</b>")
        auditor = await hotline.sign_in("audit")
        page = await auditor.get("/audit", params={"action": "auth.sign_in_failed"})
        assert page.status_code == 200
        assert page.text.count('data-action="auth.sign_in_failed"') == 1
        assert 'data-action="auth.sign_in"' not in page.text
        assert "登录失败" in page.text and "&lt;b&gt;mallory&lt;/b&gt;" in page.text  # labelled, escaped
        assert (
            'name="next" value="/audit?action=auth.sign_in_failed"' in page.text
        )  # the language switch keeps it
        assert "Asia/Shanghai (UTC+08:00)" in page.text
        day = await auditor.get("/audit", params={"from": "2999-01-01"})
        assert 'data-action="' not in day.text
        wrong = await auditor.get("/audit", params={"from": "not-a-day"})
        assert wrong.status_code == 200 and "YYYY-MM-DD" in wrong.text

        done = await post_form(auditor, "/audit/verify", page="/audit")
        assert done.status_code == 303
        location = done.headers["location"]
        assert location.startswith("/audit?verified=")
        shown = await auditor.get(location)
        assert 'id="verify-result"' in shown.text and 'class="ok"' in shown.text
        again = await auditor.get(location)  # a reload shows the same result, and verifies nothing again
        assert 'id="verify-result"' in again.text
        verifications = (await auditor.get("/api/audit/entries", params={"action": "audit.verify"})).json()
        assert len(verifications) == 1 and verifications[0]["detail"]["result"]["chain_ok"] is True
        switched = await post_form(auditor, "/language", {"language": "en", "next": location}, page=location)
        assert switched.status_code == 303 and switched.headers["location"] == location
        english = await auditor.get(location)
        assert "Audit chain intact" in english.text
        await auditor.aclose()


async def test_hold_from_the_page_needs_a_reason_and_an_admin(database_url: str, tmp_path: Path) -> None:
    async with running_hotline(database_url, tmp_path) as hotline:
        admin = await hotline.sign_in("admin")
        blank = await post_form(
            admin, "/audit/recordings/1/hold", {"op": "set", "reason": " "}, page="/audit"
        )
        assert blank.status_code == 303 and "hold_error=reason_required" in blank.headers["location"]
        missing = await post_form(
            admin, "/audit/recordings/999/hold", {"op": "set", "reason": "x"}, page="/audit"
        )
        assert "hold_error=not_found" in missing.headers["location"]
        shown = await admin.get(blank.headers["location"])
        assert "只有" not in shown.text and "必须填写原因" in shown.text
        junk = await post_form(
            admin, "/audit/recordings/1/hold", {"op": "drop", "reason": "x"}, page="/audit"
        )
        assert junk.status_code == 422
        await admin.aclose()
