"""The value checks: one wording, and the rule kept on the error for fronts that word it their way."""

import pickle

import pytest

from evoinit import checks
from evoinit.errors import UsageError
from evoinit.ga.config import SearchConfig
from evoinit.nn.training import TrainSettings


@pytest.mark.parametrize("call, rule", [
    (lambda: checks.integer("population", 1, 2, 10), {"kind": "integer", "low": 2, "high": 10, "broken": "low"}),
    (lambda: checks.integer("population", 11, 2, 10), {"kind": "integer", "broken": "high"}),
    (lambda: checks.integer("population", "8", 2, 10), {"kind": "integer", "broken": None}),
    (lambda: checks.number("momentum", 1.0, 0, 1, high_open=True), {"kind": "number", "high_open": True, "broken": "high"}),
    (lambda: checks.number("lr", -1, 0, low_open=True), {"kind": "number", "low_open": True, "broken": "low"}),
    (lambda: checks.flag("shuffle", "yes"), {"kind": "flag"}),
    (lambda: checks.choice("dtype", "float16", ("float32", "float64")), {"kind": "choice", "allowed": ("float32", "float64")}),
])
def test_a_refusal_holds_its_rule_and_survives_pickling(call, rule):
    with pytest.raises(checks.BadValue) as info:
        call()
    e = info.value
    assert isinstance(e, UsageError)
    for key, value in rule.items():
        assert getattr(e, key) == value, key
    back = pickle.loads(pickle.dumps(e))  # a worker's error comes back whole
    assert str(back) == str(e) and back.__dict__ == e.__dict__


def test_the_settings_refuse_with_their_rule_and_their_own_words():
    with pytest.raises(checks.BadValue, match="^bad training settings: epochs must be at least 1, got 0$") as info:
        TrainSettings(epochs=0)
    assert (info.value.name, info.value.low, info.value.broken) == ("epochs", 1, "low")
    with pytest.raises(checks.BadValue, match="^generations must be >= 0, got -1$") as info:
        SearchConfig(generations=-1)
    assert info.value.high == 100_000  # the one rule: both bounds


def test_dig_reads_nested_json_without_trusting_its_shape():
    d = {"a": {"b": {"c": 3}}, "x": [1]}
    assert checks.dig(d, "a", "b", "c") == 3
    assert checks.dig(d, "a", "z", "c") is None and checks.dig(d, "x", "y") is None and checks.dig(None, "a") is None
