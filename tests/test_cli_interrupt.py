"""Ctrl-C in any command: one line and exit 130, never a traceback."""

from __future__ import annotations

import argparse

import pytest

import starter


def test_ctrl_c_is_one_line_and_exit_130(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    def interrupted(args: argparse.Namespace) -> int:
        raise KeyboardInterrupt

    monkeypatch.setattr(starter, "_rules_check", interrupted)
    assert starter.main(["rules", "check", "rules/default.yaml"]) == 130
    assert capsys.readouterr().err == "interrupted\n"
