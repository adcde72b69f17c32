"""The rules file: a valid file loads; each class of mistake is reported as `file:line: field: message`."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from domain.errors import RulesError
from domain.rules import TRIGGER_DESTINATIONS, Rules
from domain.rules_file import parse_rules
from domain.vocabulary import EventKind, Stage, Temperature, Tier

from .conftest import DEFAULT_RULES_PATH

SOURCE = "rules/test.yaml"
STAGES = "'new', 'mql', 'sql', 'accepted', 'customer', 'lost' or 'disqualified'"

VALID = """\
# test rules
name: small
fit:
  criteria:
    - {name: professional, field: attributes.occupation, op: equals, value: working_professional, points: 20}
    - {name: budget, field: attributes.budget, op: range, min: 1000, points: 10}
  tiers: {high: 25, medium: 10}
engagement:
  half_life: 10d
  events:
    page_viewed: {points: 2, daily_cap: 6}
    quote_requested: {points: 30}
    unsubscribed: {points: -20}
temperature:
  thresholds: {warm: 30, hot: 60}
  warm_signals: [subscribed]
  hot_signals:
    - contact_requested
    - quote_requested
  signal_window: {warm: 7d, hot: 2d}
lifecycle:
  mql:
    min_score: 20
    signals: [content_downloaded]
  sql:
    min_score: 60
    min_tier: medium
    signals: [quote_requested]
  recycle:
    lost_after: 30d
  transitions:
    - {trigger: nurture, source: new, dest: mql}
    - {trigger: qualify, source: [new, mql], dest: sql}
    - {trigger: accept, source: sql, dest: accepted}
    - {trigger: reject, source: sql, dest: mql}
    - {trigger: return_to_marketing, source: sql, dest: mql}
    - {trigger: win, source: accepted, dest: customer}
    - {trigger: lose, source: accepted, dest: lost}
    - {trigger: disqualify, source: [new, mql, sql, accepted], dest: disqualified}
    - {trigger: recycle, source: lost, dest: mql}
handoff:
  sla:
    by_temperature:
      new: 1d
      cold: 1d
      warm: 4h
      hot: 1h
    by_tier: {high: 2h}
  escalate_after: 30m
  max_attempts: 3
  escalation_target: sales-manager
outcome: {remind_every: 7d, max_reminders: 2}
feedback:
  ask_on: [won, lost, rejected]
  deadline: 7d
  reminders: [2d, 5d]
reasons:
  reject:
    not_interested: {label: Not interested}
    spam: {label: Spam, then: disqualify}
  lost: {price: Too expensive}
  disqualify: {spam: Spam}
team:
  reps:
    - {id: r-01, capacity: 10}
    - {id: r-02, capacity: 10, active: false}
"""


def line_of(text: str, needle: str) -> int:
    """1-based number of the first line of `text` containing `needle`."""
    for number, line in enumerate(text.splitlines(), start=1):
        if needle in line:
            return number
    raise AssertionError(f"{needle!r} not in the text")


def edited(old: str, new: str, text: str = VALID) -> str:
    assert text.count(old) == 1, f"{old!r} must occur exactly once"
    return text.replace(old, new)


def problems_of(text: str) -> list[str]:
    with pytest.raises(RulesError) as err:
        parse_rules(text, SOURCE)
    lines = [str(p) for p in err.value.problems]
    assert str(err.value) == "\n".join(lines)
    return lines


def the_problem(text: str) -> str:
    found = problems_of(text)
    assert len(found) == 1, found
    return found[0]


# --- files that load --------------------------------------------------------------------------


def test_a_valid_file_loads_with_its_values() -> None:
    rules = parse_rules(VALID, SOURCE)
    assert rules.name == "small"
    assert re.fullmatch(r"r-[0-9a-f]{12}", rules.version)
    assert rules.engagement.half_life == timedelta(days=10)
    assert rules.engagement.events[EventKind.UNSUBSCRIBED].points == -20
    assert rules.handoff.sla.by_temperature[Temperature.HOT] == timedelta(hours=1)
    assert rules.handoff.sla_for(Temperature.COLD, Tier.HIGH) == timedelta(hours=2)  # the shorter wins
    assert rules.handoff.sla_for(Temperature.HOT, Tier.HIGH) == timedelta(hours=1)
    assert rules.handoff.sla_for(Temperature.WARM, Tier.LOW) == timedelta(hours=4)
    assert rules.lifecycle.allowed()[(Stage.MQL, "qualify")] is Stage.SQL
    assert rules.reject_reason("spam") is not None and rules.reject_reason("spam").then == "disqualify"  # type: ignore[union-attr]
    assert rules.reject_reason("nope") is None
    assert rules.team.get("r-02") is not None and rules.team.get("r-99") is None


def test_the_default_rules_file_loads() -> None:
    rules = parse_rules(DEFAULT_RULES_PATH.read_text(), "rules/default.yaml")
    assert isinstance(rules, Rules)
    assert re.fullmatch(r"r-[0-9a-f]{12}", rules.version)
    assert {t.trigger for t in rules.lifecycle.transitions} == set(TRIGGER_DESTINATIONS)
    assert any(rep.active for rep in rules.team.reps)


# --- YAML and the file's shape ----------------------------------------------------------------


def test_yaml_syntax_error_names_the_line() -> None:
    text = edited("    page_viewed: {points: 2, daily_cap: 6}", "    page_viewed: points: 2")
    assert the_problem(text) == f"{SOURCE}:11: not valid YAML: mapping values are not allowed here"


def test_unclosed_flow_mapping_is_reported_where_the_parser_notices() -> None:
    text = edited("  tiers: {high: 25, medium: 10}", "  tiers: {high: 25, medium: 10")
    assert the_problem(text) == f"{SOURCE}:8: not valid YAML: expected ',' or '}}', but got ':'"


def test_duplicate_key_is_an_error() -> None:
    text = edited("name: small\n", "name: small\nname: other\n")
    assert the_problem(text) == (
        f'{SOURCE}:3: not valid YAML: found duplicate key "name" with value "other" (original value: "small")'
    )


@pytest.mark.parametrize("text", ["", "# only a comment\n", "- a\n- b\n", "just text\n", "42\n"])
def test_a_file_that_is_not_a_mapping(text: str) -> None:
    assert the_problem(text) == f"{SOURCE}:1: the file must be a mapping of sections"


def test_unknown_top_level_key_is_a_typo() -> None:
    text = edited("outcome: {", "outcomes: {")
    found = problems_of(text)
    assert found == [
        f"{SOURCE}:1: outcome: is required but missing",
        f"{SOURCE}:{line_of(text, 'outcomes:')}: outcomes: unknown key 'outcomes' (a typo?); expected one of: "
        "name, version, fit, engagement, temperature, lifecycle, handoff, outcome, feedback, reasons, team",
    ]


def test_unknown_nested_key_is_a_typo() -> None:
    text = edited("  escalate_after: 30m", "  escalate_afer: 30m")
    assert problems_of(text) == [
        f"{SOURCE}:{line_of(text, 'handoff:')}: handoff.escalate_after: is required but missing",
        f"{SOURCE}:{line_of(text, 'escalate_afer')}: handoff.escalate_afer: unknown key 'escalate_afer' (a typo?); "
        "expected one of: sla, escalate_after, max_attempts, escalation_target",
    ]


def test_unknown_key_inside_a_list_item() -> None:
    text = edited("{id: r-01, capacity: 10}", "{id: r-01, capacity: 10, territory: [India]}")
    assert the_problem(text) == (
        f"{SOURCE}:{line_of(text, 'territory')}: team.reps.0.territory: unknown key 'territory' (a typo?); "
        "expected one of: id, territories, segments, capacity, active"
    )


def test_missing_section() -> None:
    text = edited("outcome: {remind_every: 7d, max_reminders: 2}\n", "")
    assert the_problem(text) == f"{SOURCE}:1: outcome: is required but missing"


def test_missing_nested_field_points_at_its_parent() -> None:
    text = edited("  deadline: 7d\n", "")
    assert the_problem(text) == f"{SOURCE}:{line_of(text, 'feedback:')}: feedback.deadline: is required but missing"


# --- values -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "field", "message"),
    [
        (
            "      hot: 1h",
            "      hot: 15 minutes",
            "handoff.sla.by_temperature.hot",
            '"15 minutes" is not a duration (try "15m", "4h", "2d" or "1h30m")',
        ),
        (
            "  escalate_after: 30m",
            "  escalate_after: 30",
            "handoff.escalate_after",
            '"30" needs a unit (try "30m" or "30h")',
        ),
        ("  half_life: 10d", "  half_life: 0d", "engagement.half_life", '"0d" must be longer than zero'),
        (
            "    lost_after: 30d",
            "    lost_after: soon",
            "lifecycle.recycle.lost_after",
            '"soon" is not a duration (try "15m", "4h", "2d" or "1h30m")',
        ),
        (
            "  reminders: [2d, 5d]",
            "  reminders: [2d, 1h30x]",
            "feedback.reminders.1",
            '"1h30x" is not a duration (try "15m", "4h", "2d" or "1h30m")',
        ),
    ],
)
def test_bad_duration(old: str, new: str, field: str, message: str) -> None:
    text = edited(old, new)
    assert the_problem(text) == f"{SOURCE}:{line_of(text, new.strip())}: {field}: {message}"


def test_unknown_event_kind_in_signals() -> None:
    text = edited("    signals: [content_downloaded]", "    signals: [content_download]")
    assert the_problem(text) == (
        f"{SOURCE}:{line_of(text, 'content_download]')}: lifecycle.mql.signals.0: 'content_download' is not allowed: "
        "Input should be 'page_viewed', 'article_read', 'product_page_viewed', 'pricing_page_viewed', 'cart_viewed', "
        "'email_opened', 'email_clicked', 'email_bounced', 'subscribed', 'unsubscribed', 'social_followed', "
        "'webinar_registered', 'webinar_attended', 'content_downloaded', 'form_submitted', 'chat_started', "
        "'call_connected', 'contact_requested', 'quote_requested', 'trial_started' or 'order_placed'"
    )


def test_unknown_event_kind_in_a_block_list_names_its_own_line() -> None:
    text = edited("    - quote_requested\n", "    - quote_request\n")
    problem = the_problem(text)
    assert problem.startswith(
        f"{SOURCE}:{line_of(text, '- quote_request')}: temperature.hot_signals.1: 'quote_request' is not allowed: "
    )


def test_unknown_event_kind_as_a_points_key() -> None:
    text = edited("    page_viewed: {", "    page_view: {")
    problem = the_problem(text)
    assert problem.startswith(
        f"{SOURCE}:{line_of(text, 'page_view:')}: engagement.events.page_view: 'page_view' is not allowed: "
    )


@pytest.mark.parametrize(
    ("old", "new", "field", "bad"),
    [
        ("{trigger: nurture, source: new, dest: mql}", "{trigger: nurture, source: new, dest: mqll}", "0.dest", "mqll"),
        (
            "{trigger: nurture, source: new, dest: mql}",
            "{trigger: nurture, source: neww, dest: mql}",
            "0.source",
            "neww",
        ),
        (
            "{trigger: qualify, source: [new, mql], dest: sql}",
            "{trigger: qualify, source: [new, mlq], dest: sql}",
            "1.source.1",
            "mlq",
        ),
    ],
)
def test_unknown_stage(old: str, new: str, field: str, bad: str) -> None:
    text = edited(old, new)
    assert the_problem(text) == (
        f"{SOURCE}:{line_of(text, new)}: lifecycle.transitions.{field}: '{bad}' is not allowed: "
        f"Input should be {STAGES}"
    )


def test_unknown_tier() -> None:
    text = edited("    min_tier: medium", "    min_tier: mid")
    assert the_problem(text) == (
        f"{SOURCE}:{line_of(text, 'min_tier')}: lifecycle.sql.min_tier: 'mid' is not allowed: "
        "Input should be 'low', 'medium' or 'high'"
    )


def test_bad_operator() -> None:
    text = edited("op: equals", "op: greater")
    assert the_problem(text) == (
        f"{SOURCE}:5: fit.criteria.0.op: 'greater' is not allowed: "
        "Input should be 'equals', 'one_of', 'range', 'present' or 'absent'"
    )


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("op: range, min: 1000,", "op: range,", "op 'range' needs 'min', 'max' or both"),
        ("op: range, min: 1000,", "op: range, min: 1000, max: 10,", "'min' is greater than 'max'"),
        ("op: range, min: 1000,", "op: equals,", "op 'equals' needs a single 'value'"),
        ("op: range, min: 1000,", "op: one_of, value: [],", "op 'one_of' needs 'value' as a non-empty list"),
        ("op: range, min: 1000,", "op: present, value: x,", "op 'present' takes no 'value'"),
        ("op: range, min: 1000,", "op: present, min: 1000,", "'min' and 'max' belong to op 'range'"),
        (
            "field: attributes.budget",
            "field: budget",
            "field 'budget' is unknown; use one of source, country, city, company, referrer, email_domain, "
            "do_not_email, do_not_call or attributes.<key>",
        ),
    ],
)
def test_bad_criterion_shape(old: str, new: str, message: str) -> None:
    text = edited(old, new)
    assert the_problem(text) == f"{SOURCE}:6: fit.criteria.1: {message}"


def test_criterion_value_of_the_wrong_type_names_the_types_that_would_do() -> None:
    text = edited("value: working_professional", "value: {a: 1}")
    assert the_problem(text) == (
        f"{SOURCE}:5: fit.criteria.0.value: Input should be a valid string or a valid integer or a valid number "
        "or a valid boolean or a valid list"
    )


def test_points_out_of_range() -> None:
    text = edited("points: 20}", "points: 200}")
    assert the_problem(text) == f"{SOURCE}:5: fit.criteria.0.points: Input should be less than or equal to 100"


@pytest.mark.parametrize(
    ("old", "new", "at", "field", "message"),
    [
        (
            "  tiers: {high: 25, medium: 10}",
            "  tiers: {high: 5, medium: 10}",
            "tiers:",
            "fit.tiers",
            "'medium' must not be above 'high'",
        ),
        (
            "  thresholds: {warm: 30, hot: 60}",
            "  thresholds: {warm: 70, hot: 60}",
            "thresholds:",
            "temperature.thresholds",
            "thresholds must satisfy 0 < warm <= hot",
        ),
        (
            "  thresholds: {warm: 30, hot: 60}",
            "  thresholds: {warm: 0, hot: 60}",
            "thresholds:",
            "temperature.thresholds",
            "thresholds must satisfy 0 < warm <= hot",
        ),
        (
            "  reminders: [2d, 5d]",
            "  reminders: [2d, 8d]",
            "feedback:",
            "feedback",
            "every reminder must come before the deadline",
        ),
    ],
)
def test_thresholds_out_of_order(old: str, new: str, at: str, field: str, message: str) -> None:
    text = edited(old, new)
    assert the_problem(text) == f"{SOURCE}:{line_of(text, at)}: {field}: {message}"


def test_sla_needs_every_temperature() -> None:
    text = edited("      new: 1d\n", "")
    assert (
        the_problem(text) == f"{SOURCE}:{line_of(text, '  sla:')}: handoff.sla: by_temperature needs an entry for new"
    )


def test_empty_reason_list() -> None:
    text = edited("  lost: {price: Too expensive}", "  lost: {}")
    assert the_problem(text) == (
        f"{SOURCE}:{line_of(text, 'lost: {}')}: reasons.lost: "
        "Dictionary should have at least 1 item after validation, not 0"
    )


# --- the lifecycle table ----------------------------------------------------------------------


def test_unknown_trigger() -> None:
    text = edited("{trigger: recycle, source: lost, dest: mql}", "{trigger: revive, source: lost, dest: mql}")
    assert problems_of(text) == [
        f"{SOURCE}:{line_of(text, 'revive')}: lifecycle.transitions.8.trigger: unknown trigger 'revive'; known: "
        "nurture, qualify, accept, reject, return_to_marketing, win, lose, disqualify, recycle",
        # and with the trigger gone, the recycling configured for lost leads has nothing to fire
        f"{SOURCE}:{line_of(text, 'lost_after')}: lifecycle.recycle.lost_after: set, but no 'recycle' transition "
        "leaves 'lost'",
    ]


def test_wrong_destination_for_a_trigger() -> None:
    text = edited("{trigger: win, source: accepted, dest: customer}", "{trigger: win, source: accepted, dest: lost}")
    assert problems_of(text) == [
        f"{SOURCE}:{line_of(text, 'trigger: win')}: lifecycle.transitions.5.dest: trigger 'win' may lead only to "
        "customer, not 'lost'",
        f"{SOURCE}:{line_of(text, 'transitions:')}: lifecycle.transitions: "
        "stage 'customer' cannot be reached from 'new'",
    ]


def test_unreachable_stage() -> None:
    text = edited("    - {trigger: disqualify, source: [new, mql, sql, accepted], dest: disqualified}\n", "")
    text = edited("    spam: {label: Spam, then: disqualify}", "    spam: {label: Spam}", text)
    assert the_problem(text) == (
        f"{SOURCE}:{line_of(text, 'transitions:')}: lifecycle.transitions: stage 'disqualified' cannot be reached "
        "from 'new'"
    )


def test_stage_with_no_way_out() -> None:
    text = edited("source: [new, mql], dest: sql}", "source: [new], dest: sql}")
    text = edited(
        "source: [new, mql, sql, accepted], dest: disqualified}",
        "source: [new, sql, accepted], dest: disqualified}",
        text,
    )
    assert the_problem(text) == (
        f"{SOURCE}:{line_of(text, 'transitions:')}: lifecycle.transitions: stage 'mql' has no way out: "
        "leads would be stranded there"
    )


def test_nothing_may_leave_the_terminal_customer_stage() -> None:
    text = edited(
        "{trigger: recycle, source: lost, dest: mql}", "{trigger: recycle, source: [lost, customer], dest: mql}"
    )
    assert the_problem(text) == (
        f"{SOURCE}:{line_of(text, 'trigger: recycle')}: lifecycle.transitions.8.source: 'customer' is terminal: "
        "nothing may leave it"
    )


def test_missing_engine_required_transition() -> None:
    text = edited("    - {trigger: return_to_marketing, source: sql, dest: mql}\n", "")
    assert the_problem(text) == (
        f"{SOURCE}:{line_of(text, 'transitions:')}: lifecycle.transitions: the engine needs trigger "
        "'return_to_marketing' from 'sql'"
    )


def test_a_transition_to_itself() -> None:
    text = edited("{trigger: nurture, source: new, dest: mql}", "{trigger: nurture, source: [new, mql], dest: mql}")
    assert the_problem(text) == (
        f"{SOURCE}:{line_of(text, 'trigger: nurture')}: lifecycle.transitions.0.source: 'mql' leads to itself"
    )


def test_a_trigger_defined_twice_from_one_stage() -> None:
    text = edited("{trigger: nurture, source: new, dest: mql}", "{trigger: qualify, source: new, dest: sql}")
    assert the_problem(text) == (
        f"{SOURCE}:{line_of(text, 'source: [new, mql], dest: sql')}: lifecycle.transitions.1: trigger 'qualify' "
        "from 'new' is defined twice (also in transition 0)"
    )


def test_recycle_configured_without_a_recycle_transition() -> None:
    text = edited("    - {trigger: recycle, source: lost, dest: mql}\n", "")
    assert the_problem(text) == (
        f"{SOURCE}:{line_of(text, 'lost_after')}: lifecycle.recycle.lost_after: set, but no 'recycle' transition "
        "leaves 'lost'"
    )


def test_recycle_of_disqualified_without_a_transition() -> None:
    text = edited("    lost_after: 30d\n", "    lost_after: 30d\n    disqualified_after: 90d\n")
    assert the_problem(text) == (
        f"{SOURCE}:{line_of(text, 'disqualified_after')}: lifecycle.recycle.disqualified_after: set, but no "
        "'recycle' transition leaves 'disqualified'"
    )


def test_reject_reason_that_disqualifies_needs_a_disqualify_transition_from_sql() -> None:
    text = edited(
        "source: [new, mql, sql, accepted], dest: disqualified", "source: [new, mql, accepted], dest: disqualified"
    )
    assert the_problem(text) == (
        f"{SOURCE}:{line_of(text, 'spam: {label: Spam, then')}: reasons.reject.spam.then: 'disqualify', but no "
        "'disqualify' transition leaves 'sql'"
    )


# --- the team ---------------------------------------------------------------------------------


def test_duplicate_rep_ids() -> None:
    text = edited("{id: r-02,", "{id: r-01,")
    assert the_problem(text) == f"{SOURCE}:{line_of(text, 'team:')}: team: rep id 'r-01' appears twice"


def test_no_active_rep() -> None:
    text = edited("{id: r-01, capacity: 10}", "{id: r-01, capacity: 10, active: false}")
    assert the_problem(text) == f"{SOURCE}:{line_of(text, 'team:')}: team: no rep is active: every handoff would stall"


def test_bad_rep_id() -> None:
    text = edited("{id: r-01, capacity: 10}", "{id: R 01, capacity: 10}")
    assert the_problem(text) == (
        f"{SOURCE}:{line_of(text, 'R 01')}: team.reps.0.id: String should match pattern '^[a-z0-9][a-z0-9._-]*$'"
    )


# --- several problems at once -----------------------------------------------------------------


def test_every_problem_is_reported_together_in_file_order() -> None:
    text = edited("  half_life: 10d", "  half_life: 10 days")
    text = edited("    signals: [content_downloaded]", "    signals: [content_download]", text)
    text = edited("  max_attempts: 3", "  max_attempts: 3\n  max_atempts: 4", text)
    text = edited("{id: r-02,", "{id: r-01,", text)
    found = problems_of(text)
    assert [p.split(": ")[0:2] for p in found] == [
        [f"{SOURCE}:{line_of(text, 'half_life')}", "engagement.half_life"],
        [f"{SOURCE}:{line_of(text, 'content_download]')}", "lifecycle.mql.signals.0"],
        [f"{SOURCE}:{line_of(text, 'max_atempts')}", "handoff.max_atempts"],
        [f"{SOURCE}:{line_of(text, 'team:')}", "team"],
    ]


def test_every_lifecycle_problem_is_reported_together() -> None:
    text = edited("    - {trigger: return_to_marketing, source: sql, dest: mql}\n", "")
    text = edited("    - {trigger: recycle, source: lost, dest: mql}\n", "", text)
    text = edited(
        "{trigger: win, source: accepted, dest: customer}",
        "{trigger: win, source: [accepted, customer], dest: customer}",
        text,
    )
    found = problems_of(text)
    assert len(found) == 4, found
    assert any("'customer' is terminal" in p for p in found)
    assert any("'customer' leads to itself" in p for p in found)
    assert any("needs trigger 'return_to_marketing'" in p for p in found)
    assert any("lost_after: set, but no 'recycle'" in p for p in found)


def test_problems_carry_source_line_and_field() -> None:
    with pytest.raises(RulesError) as err:
        parse_rules(edited("  max_attempts: 3", "  max_attempts: 0"), SOURCE)
    (problem,) = err.value.problems
    assert (problem.source, problem.line, problem.field) == (
        SOURCE,
        line_of(VALID, "max_attempts"),
        "handoff.max_attempts",
    )
    assert problem.message == "Input should be greater than or equal to 1"


# --- the version ------------------------------------------------------------------------------


def test_version_is_stable_across_comments_layout_and_key_order() -> None:
    original = parse_rules(VALID, SOURCE).version
    commented = "# a new header comment\n" + VALID.replace("  max_attempts: 3", "  max_attempts: 3   # raised later?")
    block_style = edited(
        "outcome: {remind_every: 7d, max_reminders: 2}",
        "outcome:\n  max_reminders: 2   # order changed too\n  remind_every: 7d",
    )
    quoted = edited("  escalation_target: sales-manager", '  escalation_target: "sales-manager"')
    assert parse_rules(commented, SOURCE).version == original
    assert parse_rules(block_style, SOURCE).version == original
    assert parse_rules(quoted, SOURCE).version == original
    assert parse_rules(VALID, "elsewhere/other-name.yaml").version == original


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("  max_attempts: 3", "  max_attempts: 4"),
        ("    page_viewed: {points: 2, daily_cap: 6}", "    page_viewed: {points: 3, daily_cap: 6}"),
        ("name: small", "name: smaller"),
        ("    not_interested: {label: Not interested}", "    not_interested: {label: Not interested now}"),
    ],
)
def test_version_changes_when_content_changes(old: str, new: str) -> None:
    assert parse_rules(edited(old, new), SOURCE).version != parse_rules(VALID, SOURCE).version
