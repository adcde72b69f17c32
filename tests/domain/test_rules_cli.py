"""`python starter.py rules check | diagram | backtest`: output, exit codes, never a traceback."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

import starter
from domain.diagram import markdown, mermaid
from domain.errors import RulesError
from domain.rules_file import parse_rules

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_RULES = ROOT / "rules" / "default.yaml"
LEADS_CSV = ROOT.parent / "shared" / "data" / "x-education-leads.csv"
REPORT_KEYS = {"leads", "by_stage", "by_temperature", "by_tier", "auc", "conversion_by_tier", "skipped"}


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = starter.main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


def default_text() -> str:
    return DEFAULT_RULES.read_text(encoding="utf-8")


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def expected_problems(text: str, source: str) -> list[str]:
    with pytest.raises(RulesError) as caught:
        parse_rules(text, source)
    return [str(p) for p in caught.value.problems]


def small_csv(tmp_path: Path, count: int, broken: dict[int, dict[str, str]] | None = None) -> str:
    """The first `count` leads of the real data, with some cells replaced (by data row index)."""
    with LEADS_CSV.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        fields = list(reader.fieldnames or [])
        rows = [row for _, row in zip(range(count), reader, strict=False)]
    for index, cells in (broken or {}).items():
        rows[index].update(cells)
    path = tmp_path / "leads.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
    return str(path)


# --- rules check ---------------------------------------------------------------------------


def test_check_ok_prints_the_version(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "rules", "check", str(DEFAULT_RULES))
    version = parse_rules(default_text(), str(DEFAULT_RULES)).version
    assert (code, out, err) == (0, f"ok {version}\n", "")


def test_check_reports_a_bad_duration_with_file_line_and_field(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    text = default_text().replace("hot: 1h}", "hot: 15 minutes}")
    assert text != default_text()
    path = write(tmp_path, "bad.yaml", text)
    code, out, err = run(capsys, "rules", "check", path)
    assert code == 2
    assert out == ""
    line = 1 + text.splitlines().index(next(x for x in text.splitlines() if "15 minutes" in x))
    assert err.splitlines() == [
        f'{path}:{line}: handoff.sla.by_temperature.hot: "15 minutes" is not a duration '
        '(try "15m", "4h", "2d" or "1h30m")'
    ]


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("  half_life: 21d", "  halflife: 21d"),  # unknown key (and a missing one)
        ("trigger: recycle, source: lost", "trigger: recyle, source: lost"),  # unknown trigger
        ("    - {trigger: accept, source: sql, dest: accepted}\n", ""),  # strands leads
        ("tiers: {high: 40, medium: 15}", "tiers: {high: 10, medium: 15}"),  # out of order
        ("name: default", "name: default\nname: again"),  # duplicate key
        ("name: default", "name: [default"),  # not YAML
    ],
)
def test_check_prints_every_problem_as_rules_error_formats_it(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, old: str, new: str
) -> None:
    text = default_text().replace(old, new, 1)
    assert text != default_text(), old
    path = write(tmp_path, "bad.yaml", text)
    code, out, err = run(capsys, "rules", "check", path)
    assert code == 2
    assert out == ""
    assert err.splitlines() == expected_problems(text, path)
    assert err.strip()


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda d: str(d / "nope.yaml"), "no such rules file"),
        (lambda d: str(d), "is a directory"),
        (lambda d: (d / "latin1.yaml").write_bytes(b"name: caf\xe9\n") and str(d / "latin1.yaml"), "not UTF-8"),
    ],
)
def test_check_an_unreadable_file_is_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, make: object, message: str
) -> None:
    path = make(tmp_path)  # type: ignore[operator]
    code, out, err = run(capsys, "rules", "check", path)
    assert code == 2
    assert out == ""
    assert len(err.splitlines()) == 1
    assert err.startswith(f"{path}: ")
    assert message in err


def test_bad_arguments_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "rules", "frobnicate", str(DEFAULT_RULES))
    assert code == 2
    assert "invalid choice" in err
    code, _, err = run(capsys, "rules", "backtest", str(DEFAULT_RULES))  # --data is required
    assert code == 2
    assert "--data" in err


# --- rules diagram -------------------------------------------------------------------------


def test_diagram_prints_mermaid(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "rules", "diagram", str(DEFAULT_RULES))
    assert code == 0
    assert out.count("stateDiagram-v2") == 3
    rules = parse_rules(default_text(), str(DEFAULT_RULES))
    code, out, _ = run(capsys, "rules", "diagram", str(DEFAULT_RULES), "--machine", "lifecycle")
    assert (code, out) == (0, mermaid(rules, "lifecycle") + "\n")


def test_diagram_markdown_is_the_docs_page(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "rules", "diagram", "rules/default.yaml", "--markdown")
    rules = parse_rules(default_text(), "rules/default.yaml")
    assert (code, out) == (0, markdown(rules, "rules/default.yaml"))


def test_diagram_of_a_broken_file_exits_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = write(tmp_path, "bad.yaml", default_text().replace("  half_life: 21d", "  halflife: 21d"))
    code, out, err = run(capsys, "rules", "diagram", path)
    assert (code, out) == (2, "")
    assert "engagement.halflife: unknown key" in err


# --- rules backtest ------------------------------------------------------------------------


def test_backtest_json_is_one_object_with_the_report_keys(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    data = small_csv(tmp_path, 60)
    code, out, err = run(capsys, "rules", "backtest", str(DEFAULT_RULES), "--data", data, "--json")
    assert code == 0
    assert err == ""
    report = json.loads(out)
    assert set(report) >= REPORT_KEYS
    assert report["leads"] == 60
    assert sum(report["by_stage"].values()) == sum(report["by_tier"].values()) == 60
    assert set(report["by_tier"]) == {"high", "medium", "low"}
    assert 0.5 < report["auc"] <= 1
    assert report["skipped"] == []


def test_backtest_reports_malformed_rows_by_line_and_goes_on(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    data = small_csv(tmp_path, 30, broken={4: {"TotalVisits": "many"}, 9: {"Do Not Email": "perhaps"}})
    with open(data, "a", encoding="utf-8") as handle:
        handle.write("only,three,fields\n")
    code, out, err = run(capsys, "rules", "backtest", str(DEFAULT_RULES), "--data", data, "--json")
    assert code == 0
    report = json.loads(out)
    assert report["leads"] == 28
    # data row 4 is on line 6 (line 1 is the header)
    assert [(s["line"], s["error"].split(":")[0]) for s in report["skipped"]] == [
        (6, "column 'TotalVisits'"),
        (11, "column 'Do Not Email'"),
        (32, "has 3 fields; the header has 37"),
    ]
    assert err.splitlines() == [
        f"{data}:6: column 'TotalVisits': 'many' is not a number (row skipped)",
        f"{data}:11: column 'Do Not Email': 'perhaps' is not Yes or No (row skipped)",
        f"{data}:32: has 3 fields; the header has 37 (row skipped)",
    ]


def test_backtest_text_report(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    data = small_csv(tmp_path, 40)
    code, out, _ = run(capsys, "rules", "backtest", str(DEFAULT_RULES), "--data", data)
    assert code == 0
    assert "40 lead(s) replayed, 0 row(s) skipped" in out
    assert "ROC AUC of the total score: " in out
    for word in ("stage", "temperature", "tier", "mql", "hot", "high"):
        assert word in out


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no such file"),
        ("", "is empty"),
        ("a,b,c\n1,2,3\n", "no 'Prospect ID' column"),
    ],
)
def test_backtest_unusable_data_file_is_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, content: str | None, message: str
) -> None:
    data = tmp_path / "leads.csv"
    if content is not None:
        data.write_text(content, encoding="utf-8")
    code, out, err = run(capsys, "rules", "backtest", str(DEFAULT_RULES), "--data", str(data))
    assert (code, out) == (2, "")
    assert len(err.splitlines()) == 1
    assert message in err


# --- as a process --------------------------------------------------------------------------


def test_as_a_process() -> None:
    ok = subprocess.run(
        [sys.executable, "starter.py", "rules", "check", "rules/default.yaml"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.startswith("ok r-")
    missing = subprocess.run(
        [sys.executable, "starter.py", "rules", "check", "rules/missing.yaml"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert missing.returncode == 2
    assert missing.stderr == "rules/missing.yaml: no such rules file\n"
    assert "Traceback" not in missing.stdout + missing.stderr


def test_backtest_as_a_process(tmp_path: Path) -> None:
    data = small_csv(tmp_path, 20)
    done = subprocess.run(
        [sys.executable, "starter.py", "rules", "backtest", "rules/default.yaml", "--data", data, "--json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert set(json.loads(done.stdout)) >= REPORT_KEYS
