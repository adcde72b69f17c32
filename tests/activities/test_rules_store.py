"""The rules store: the default until something is published, every version kept, bad files refused."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from temporalio.exceptions import ApplicationError

from activities.lead_activities import LeadActivities
from activities.rules_store import RulesStore, UnknownRulesVersion
from activities.settings import Settings
from activities.types import LoadRulesInput
from domain.errors import RulesError
from tests.activities.helpers import DEFAULT_RULES, activity_env

DEFAULT_TEXT = DEFAULT_RULES.read_text()


def variant(tmp_path: Path, name: str, broken: bool = False) -> Path:
    """The default file renamed to `name`; `broken` adds a key the schema does not know."""
    path = tmp_path / f"{name}.yaml"
    text = re.sub(r"^name: .*$", f"name: {name}", DEFAULT_TEXT, count=1, flags=re.MULTILINE)
    path.write_text(text + ("\nbogus_section: 1\n" if broken else ""))
    return path


def snapshot(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir())}


def test_the_default_file_is_current_and_stored_with_its_text(tmp_path: Path) -> None:
    store = RulesStore(tmp_path / "rules", DEFAULT_RULES)
    rules = store.current()
    assert rules.name == "default"
    assert rules.version.startswith("r-")
    assert store.current_version() is None  # nothing published
    assert (tmp_path / "rules" / f"{rules.version}.yaml").read_text() == DEFAULT_TEXT
    assert [(v.version, v.published_at) for v in store.versions()] == [(rules.version, None)]


def test_publish_makes_a_version_current_and_keeps_the_old_one(tmp_path: Path) -> None:
    store = RulesStore(tmp_path / "rules", DEFAULT_RULES)
    old = store.current()
    new_path = variant(tmp_path, "faster")
    new = store.publish(new_path)
    assert new.version != old.version
    assert store.current() == new
    assert store.current_version() == new.version
    # A lead pinned to the old version still gets it, from a fresh store too (another worker).
    again = RulesStore(tmp_path / "rules", DEFAULT_RULES)
    assert again.get(old.version) == old
    assert again.get(new.version).name == "faster"
    assert (tmp_path / "rules" / f"{new.version}.yaml").read_text() == new_path.read_text()
    listing = again.versions()
    assert [v.version for v in listing] == [old.version, new.version]
    assert listing[0].published_at is None
    assert listing[1].published_at is not None


def test_an_invalid_file_changes_nothing(tmp_path: Path) -> None:
    store = RulesStore(tmp_path / "rules", DEFAULT_RULES)
    published = store.publish(variant(tmp_path, "good"))
    before = snapshot(tmp_path / "rules")
    bad = variant(tmp_path, "bad", broken=True)
    with pytest.raises(RulesError) as refused:
        store.publish(bad)
    assert "bogus_section" in str(refused.value)
    with pytest.raises(RulesError):
        store.publish(tmp_path / "missing.yaml")
    assert snapshot(tmp_path / "rules") == before
    assert store.current() == published


def test_an_unknown_version_is_a_clear_error(tmp_path: Path) -> None:
    store = RulesStore(tmp_path / "rules", DEFAULT_RULES)
    known = store.current().version
    with pytest.raises(UnknownRulesVersion) as unknown:
        store.get("r-000000000000")
    assert "r-000000000000" in str(unknown.value)
    assert known in str(unknown.value)
    with pytest.raises(UnknownRulesVersion):
        store.get("../../etc/passwd")  # not a version id: never a path


def test_the_default_version_is_found_before_anything_was_stored(tmp_path: Path) -> None:
    version = RulesStore(tmp_path / "first", DEFAULT_RULES).current().version
    fresh = RulesStore(tmp_path / "second", DEFAULT_RULES)
    assert fresh.get(version).version == version


def test_a_version_file_edited_by_hand_is_refused(tmp_path: Path) -> None:
    store = RulesStore(tmp_path / "rules", DEFAULT_RULES)
    version = store.current().version
    (tmp_path / "rules" / f"{version}.yaml").write_text(variant(tmp_path, "edited").read_text())
    with pytest.raises(RulesError, match="edited by hand"):
        RulesStore(tmp_path / "rules", DEFAULT_RULES).get(version)


async def test_load_rules_activity(acts: LeadActivities) -> None:
    env = activity_env("load_rules")
    current = await env.run(acts.load_rules, LoadRulesInput())
    pinned = await env.run(acts.load_rules, LoadRulesInput(version=current.version))
    assert pinned == current
    with pytest.raises(ApplicationError) as failed:
        await env.run(acts.load_rules, LoadRulesInput(version="r-ffffffffffff"))
    assert failed.value.non_retryable
    assert failed.value.type == "UnknownRulesVersion"


async def test_load_rules_with_a_broken_default_is_not_retryable(tmp_path: Path) -> None:
    broken = variant(tmp_path, "broken", broken=True)
    async with LeadActivities(Settings(data_dir=tmp_path / "data", rules_path=broken)) as acts:
        with pytest.raises(ApplicationError) as failed:
            await activity_env("load_rules").run(acts.load_rules, LoadRulesInput())
    assert failed.value.non_retryable
    assert failed.value.type == "RulesError"
    assert "broken.yaml" in str(failed.value)
