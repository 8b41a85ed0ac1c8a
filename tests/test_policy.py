"""The course policy: config validation, the 0–4 mapping, every cap and their combination."""

import datetime as dt
import re

import pytest

from autograder.notebook_info import exercises
from autograder.paths import session_ids
from autograder.policy import (
    CONFIG_PATH, PolicyError, load_policy, missing_verdict, policy_from_values, score_submission)

UTC = dt.timezone.utc


@pytest.fixture(scope="module")
def policy():
    return load_policy()


def config_values():
    import importlib.util

    spec = importlib.util.spec_from_file_location("cfg", CONFIG_PATH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return {k: v for k, v in vars(module).items() if k.isupper()}


def test_shipped_config_loads_with_the_2025_dates(policy):
    s = policy.sessions["01_micrograd"]
    assert s.class_date == dt.date(2025, 2, 5)
    # 23:59:59 in Paris (UTC+1 in February) is 22:59:59 UTC
    assert s.deadline.astimezone(UTC) == dt.datetime(2025, 2, 5, 22, 59, 59, tzinfo=UTC)
    assert policy.sessions["03_backprop"].starred == ("mlp_torch", "batchnorm", "mlp_bn")


def test_starred_exercises_exist_in_their_notebooks(policy):
    for sid in session_ids():
        missing = set(policy.sessions[sid].starred) - set(exercises(sid))
        assert not missing, f"{sid}: starred exercises without test cells: {missing}"


@pytest.mark.parametrize("change,message", [
    ({"MAX_SCOR": 4}, "unknown setting(s) MAX_SCOR"),
    ({"MAX_SCORE": "4"}, "MAX_SCORE must be of type int"),
    ({"LATE_CAP": True}, "LATE_CAP must be of type int"),
    ({"LATE_CAP": 7}, "LATE_CAP must lie between 0 and MAX_SCORE"),
    ({"ROUNDING": "nearest"}, "ROUNDING must be one of"),
    ({"TIMEZONE": "Mars/Olympus"}, "not a known IANA time zone"),
    ({"CELL_TIMEOUT_S": 0}, "CELL_TIMEOUT_S must be positive"),
])
def test_bad_settings_give_a_clear_error(change, message):
    values = {**config_values(), **change}
    with pytest.raises(PolicyError, match=message.replace("(", r"\(").replace(")", r"\)")):
        policy_from_values(values)


def test_missing_setting_is_named():
    values = config_values()
    del values["LATE_CAP"]
    with pytest.raises(PolicyError, match="missing setting.*LATE_CAP"):
        policy_from_values(values)


@pytest.mark.parametrize("session_change,message", [
    ({"deadlne": "2025-02-05 23:59"}, "unknown key"),
    ({"deadline": "5 Feb 2025"}, "is not 'YYYY-MM-DD HH:MM"),
    ({"deadline": "2025-02-05 23:59+01:00"}, "without offset"),
    ({"starred": "mlp"}, "starred must be of type list"),
    ({"starred": [1]}, "list of exercise names"),
    ({"class_date": "2025-13-01"}, "class_date"),
    ({"release": "tomorrow"}, "release 'tomorrow' is not"),
    ({"release": "2025-02-06 08:00"}, "after the deadline"),
])
def test_bad_session_entries_give_a_clear_error(session_change, message):
    values = config_values()
    sessions = {k: dict(v) for k, v in values["SESSIONS"].items()}
    sessions["01_micrograd"].update(session_change)
    with pytest.raises(PolicyError, match=message):
        policy_from_values({**values, "SESSIONS": sessions})


@pytest.mark.parametrize("points,expected", [
    (0, 0), (2.4, 0), (2.5, 1), (7.4, 1), (7.5, 2), (12.5, 3), (17.4, 3), (17.5, 4), (20, 4)])
def test_points_map_to_0_4_rounding_half_up(policy, points, expected):
    assert policy.raw_score(points, 20) == expected


def test_other_roundings():
    values = config_values()
    down = policy_from_values({**values, "ROUNDING": "down"})
    up = policy_from_values({**values, "ROUNDING": "up"})
    assert down.raw_score(19.9, 20) == 3 and up.raw_score(0.1, 20) == 1
    assert down.raw_score(20, 20) == 4 and up.raw_score(0, 20) == 0


def deadline(policy, sid):
    return policy.sessions[sid].deadline


def test_on_time_complete_scores_4(policy):
    v = score_submission(policy, "01_micrograd", 20, 20, {}, deadline(policy, "01_micrograd"))
    assert (v.score, v.late, v.reasons) == (4, False, ())


def test_one_second_before_and_after_the_deadline(policy):
    d = deadline(policy, "01_micrograd")
    before = score_submission(policy, "01_micrograd", 20, 20, {}, d - dt.timedelta(seconds=1))
    after = score_submission(policy, "01_micrograd", 20, 20, {}, d + dt.timedelta(seconds=1))
    assert (before.score, before.late) == (4, False)
    assert (after.score, after.late) == (1, True)
    assert "late" in after.reasons[0] and "capped at 1" in after.reasons[0]


def test_deadline_compares_instants_not_wall_clocks(policy):
    d = deadline(policy, "01_micrograd")  # 23:59:59 Paris
    utc_just_after = dt.datetime(2025, 2, 5, 23, 0, 0, tzinfo=UTC)  # 00:00:00 Paris
    assert score_submission(policy, "01_micrograd", 20, 20, {}, utc_just_after).late
    assert not score_submission(policy, "01_micrograd", 20, 20, {}, d.astimezone(UTC)).late


def test_starred_missing_caps_at_2(policy):
    on_time = deadline(policy, "03_backprop") - dt.timedelta(hours=1)
    v = score_submission(policy, "03_backprop", 19, 20, {"mlp_torch": True, "batchnorm": False,
                                                         "mlp_bn": True}, on_time)
    assert (v.raw_score, v.score, v.starred_missing) == (4, 2, ("batchnorm",))
    assert "batchnorm" in v.reasons[0] and "capped at 2" in v.reasons[0]


def test_starred_done_is_not_capped(policy):
    on_time = deadline(policy, "03_backprop") - dt.timedelta(hours=1)
    v = score_submission(policy, "03_backprop", 20, 20, {"mlp_torch": True, "batchnorm": True,
                                                         "mlp_bn": True}, on_time)
    assert v.score == 4 and v.starred_missing == ()


def test_starred_missing_and_late_give_1_with_both_reasons(policy):
    late = deadline(policy, "03_backprop") + dt.timedelta(seconds=1)
    v = score_submission(policy, "03_backprop", 20, 20, {"mlp_torch": False}, late)
    assert v.score == 1 and v.late and v.starred_missing == ("mlp_torch", "batchnorm", "mlp_bn")
    assert len(v.reasons) == 2


def test_caps_never_raise_a_low_score(policy):
    late = deadline(policy, "03_backprop") + dt.timedelta(days=1)
    assert score_submission(policy, "03_backprop", 0, 20, {}, late).score == 0


def test_no_submission_scores_0(policy):
    v = missing_verdict(policy)
    assert v.score == 0 and "no submission" in v.reasons[0]


def test_missing_timestamp_is_held_for_review_by_default(policy):
    assert policy.missing_timestamp == "review"
    v = score_submission(policy, "01_micrograd", 20, 20, {}, None)
    assert v.held and v.score is None and not v.late
    assert "no submission time" in v.reasons[0] and "held for review" in v.reasons[0]


@pytest.mark.parametrize("rule, score, late", [("on_time", 4, False), ("late", 1, True)])
def test_missing_timestamp_follows_the_setting(rule, score, late):
    chosen = policy_from_values({**config_values(), "MISSING_TIMESTAMP": rule})
    v = score_submission(chosen, "01_micrograd", 20, 20, {}, None)
    assert (v.score, v.late, v.held) == (score, late, False)
    assert "no submission time" in v.reasons[0]


def test_unknown_missing_timestamp_rule_is_refused():
    with pytest.raises(PolicyError, match="MISSING_TIMESTAMP must be one of"):
        policy_from_values({**config_values(), "MISSING_TIMESTAMP": "ignore"})


def with_extension(granted):
    return policy_from_values({**config_values(), "EXTENSIONS": granted})


def test_extension_moves_one_students_deadline_only():
    policy = with_extension({"dave": {"01_micrograd": "2025-02-08 23:59:59"}})
    two_days_late = deadline(policy, "01_micrograd") + dt.timedelta(days=2)
    dave = score_submission(policy, "01_micrograd", 20, 20, {}, two_days_late, "dave")
    alice = score_submission(policy, "01_micrograd", 20, 20, {}, two_days_late, "alice")
    assert (dave.score, dave.late) == (4, False)
    assert dave.reasons == ("extension: deadline 2025-02-08 23:59:59 CET instead of "
                            "2025-02-05 23:59:59 CET, submitted in time",)  # the row says so
    assert (alice.score, alice.late) == (1, True)
    after = score_submission(policy, "01_micrograd", 20, 20, {},
                             two_days_late + dt.timedelta(days=1, seconds=1), "dave")
    assert after.late and "deadline (extended) 2025-02-08 23:59:59" in after.reasons[0]


@pytest.mark.parametrize("granted, message", [
    ({"dave": {"07_rl": "2025-02-08 23:59"}}, "unknown session '07_rl'"),
    ({"dave": {"01_micrograd": "next friday"}}, "is not 'YYYY-MM-DD HH:MM"),
    ({"dave": {"01_micrograd": "2025-02-01 12:00"}}, "is not after the session's deadline"),
    ({"dave": {"01_micrograd": "2025-02-08 23:59+01:00"}}, "without offset"),
    ({"dave": "2025-02-08 23:59"}, "must be a dict"),
    ({"dave": {"01_micrograd": 3}}, "must be a str"),
])
def test_bad_extensions_are_refused_clearly(granted, message):
    with pytest.raises(PolicyError, match=re.escape(message)):
        with_extension(granted)