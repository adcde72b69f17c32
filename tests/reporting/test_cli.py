"""`python starter.py report` end to end against a real ledger file (no Temporal needed)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import starter
from activities.ledger import Ledger
from domain.state import LedgerEntry


@pytest.fixture
def data_dir(tmp_path: Path, entries: list[LedgerEntry]) -> Path:
    Ledger(tmp_path / "ledger.sqlite3").append(entries)
    return tmp_path


def test_json(data_dir: Path, capsys: pytest.CaptureFixture[str], entries: list[LedgerEntry]) -> None:
    assert starter.main(["report", "--data-dir", str(data_dir), "--json"]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    report = json.loads(out)
    assert report["since"] is None
    assert (report["entries"], report["leads"]) == (len(entries), 7)
    assert [s["reached"] for s in report["funnel"]["stages"]] == [7, 7, 6, 3, 1]
    assert [t["tier"] for t in report["funnel_by_tier"]] == ["high", "medium", "low"]
    total = report["speed_to_lead"]["total"]
    assert (total["p50_seconds"], total["p90_seconds"], total["attempts"]) == (1800, 7200, 10)
    # the CLI reports up to the wall clock: H's handoff, still pending, is long past its deadline
    assert (total["open"], total["breached"]) == (0, 5)
    web = report["quality_by_source"][0]
    assert (web["source"], web["average_rating"], web["rating_counts"]["5"]) == ("web_form", 3.5, 1)
    assert report["recycled"]["leads"] == 3


def test_since_and_html(data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    page = tmp_path / "review.html"
    assert starter.main(["report", "--data-dir", str(data_dir), "--since", "2026-03-03", "--html", str(page)]) == 0
    out, err = capsys.readouterr()
    assert out.startswith("Sales–Marketing review: 2026-03-03 00:00 UTC → ")
    assert "6 leads with activity in the period" in out  # E's only later entries are temperature changes
    assert err == f"wrote {page}\n"
    html = page.read_text(encoding="utf-8")
    assert "<title>Sales–Marketing review: 2026-03-03 00:00 UTC → " in html
    assert html.count("<svg") == 6


def test_a_period_with_nothing_in_it(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert starter.main(["report", "--data-dir", str(data_dir), "--since", "2099-01-01"]) == 0
    assert "No activity in the period" in capsys.readouterr().out


def test_missing_ledger(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert starter.main(["report", "--data-dir", str(tmp_path / "nowhere")]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert len(err.splitlines()) == 1
    assert "no ledger here" in err
    assert not (tmp_path / "nowhere").exists()  # reporting creates nothing


def test_bad_since(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert starter.main(["report", "--data-dir", str(data_dir), "--since", "last tuesday"]) == 2
    assert capsys.readouterr().err == "--since 'last tuesday' is not a date (try 2026-01-31)\n"
