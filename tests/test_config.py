"""SearchConfig: what a search is, checked where it is built, and read back from JSON and TOML."""

import json

import pytest

from evoinit.data.spec import DataSpec
from evoinit.errors import ConfigError, UsageError
from evoinit.ga.config import SearchConfig
from evoinit.ga.configfile import build, load_toml
from evoinit.ga.genome import SearchSpace
from evoinit.nn.training import TrainSettings


def test_json_round_trip_gives_the_same_config():
    config = SearchConfig(dataset=DataSpec("wine", val_size=0.3), population=6, objectives=("val_error", "n_params"),
                          seed_policy="inherited", space=SearchSpace(widths=(4, 32), inits=("he_normal", "zeros")),
                          train=TrainSettings(epochs=3, optimizer="adam", learning_rate=0.01))
    again = SearchConfig.from_json(json.loads(json.dumps(config.to_json())))
    assert again == config and again.to_json() == config.to_json()


def test_defaults_that_follow_other_settings():
    assert SearchConfig(population=7).offspring == 7
    assert SearchConfig(seed_policy="inherited").space.seed_gene
    assert not SearchConfig(space=SearchSpace(seed_gene=True)).space.seed_gene
    assert SearchConfig(objectives="val_error").objectives == ("val_error",)
    assert SearchConfig(dataset="iris").dataset == DataSpec("iris")


@pytest.mark.parametrize("options, message", [
    ({"population": 1}, "population must be at least 2, got 1"),
    ({"offspring": 0}, "offspring must be at least 1"),
    ({"generations": -1}, "generations must be >= 0"),
    ({"repeats": 0}, "repeats must be at least 1"),
    ({"cxpb": 0.7, "mutpb": 0.4}, "cxpb and mutpb must be >= 0 with cxpb \\+ mutpb <= 1"),
    ({"indpb": 0}, "indpb must be in \\(0, 1\\]"),
    ({"tournament": 1}, "tournament must be at least 2"),
    ({"hall_of_fame": 0}, "hall_of_fame must be at least 1"),
    ({"seed": -1}, "seed must be a non-negative integer"),
    ({"objectives": ()}, "at least one objective"),
    ({"seed_policy": "distinc"}, "did you mean 'distinct'"),
    ({"objectives": ("val_los",)}, "did you mean 'val_loss'"),
    ({"objectives": ("val_loss", "val_loss")}, "objectives repeat themselves"),
    ({"objectives": ("spread",), "repeats": 1}, "'spread' objective needs repeats >= 2"),
])
def test_each_bad_setting_names_itself(options, message):
    with pytest.raises(UsageError, match=message):
        SearchConfig(**options)


def test_build_merges_tables_and_splits_off_execution():
    config, execution = build({"dataset": "iris", "population": 5, "epochs": 4, "n_jobs": 2, "out": "runs/x",
                               "space": {"widths": [8, 16]}, "train": {"learning_rate": 0.1},
                               "data": {"val_size": 0.25}})
    assert execution == {"n_jobs": 2, "out": "runs/x"}
    assert (config.population, config.train.epochs, config.train.learning_rate) == (5, 4, 0.1)
    assert config.space.widths == (8, 16) and config.dataset.val_size == 0.25
    assert build({})[0].train.epochs == SearchConfig().train.epochs == 30
    for options, message in (({"space": {"widths": [8, 100000]}}, "widths must be at most 4096"),
                             ({"space": {"layers": [1, 2, 3]}}, "space layers must be \\[min, max\\]")):
        with pytest.raises(UsageError, match=message):
            build(options)


@pytest.mark.parametrize("text, message", [
    ("population = \n", "TOML syntax error"),
    ('dataset = "iris"\npopulaton = 4\n', "line 2.*unknown key 'populaton'.*did you mean 'population'"),
    ('population = "many"\n', "line 1.*population has the wrong type \\(str: 'many'; expected integer\\)"),
    ('[space]\nwidths = [8, "wide"]\n', "line 2.*\\[space\\] widths has the wrong type"),
    ('[space]\nlayers = [1, 2, 3]\n', "\\[space\\] layers must be \\[min, max\\]"),
    ("space = 3\n", "space must be a table"),
    ("[train]\nepochz = 3\n", "unknown key 'epochz' in \\[train\\].*did you mean 'epochs'"),
    ("cxpb = true\n", "cxpb has the wrong type"),
])
def test_toml_errors_name_the_key_and_the_line(tmp_path, text, message):
    path = tmp_path / "c.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message) as info:
        load_toml(path)
    assert str(info.value).startswith(str(path)) and "\n" not in str(info.value)


def test_a_good_toml_builds_the_config_it_says(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('dataset = "wine"\npopulation = 6\nobjectives = ["val_error", "n_params"]\n'
                    "[space]\nscales = [0.5, 2]\n[train]\noptimizer = \"adam\"\n")
    config, execution = build(load_toml(path))
    assert (config.dataset.name, config.population, config.objectives) == ("wine", 6, ("val_error", "n_params"))
    assert config.space.scales == (0.5, 2) and config.train.optimizer == "adam" and execution == {}
    for missing in (tmp_path / "nope.toml",):
        with pytest.raises(ConfigError, match="does not exist"):
            load_toml(missing)
