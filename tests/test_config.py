from __future__ import annotations

import re
from pathlib import Path

import pytest

from traider.config import ConfigError, load_config


def test_defaults_are_the_documented_ones(traider_home: Path) -> None:
    cfg = load_config(None, {}, environ={})
    assert cfg.engine.mode == "paper"
    assert cfg.engine.symbols == ("BTC-USD", "ETH-USD", "SOL-USD")
    assert cfg.engine.starting_capital_usd == 5000.0
    assert cfg.risk.max_position_pct_of_capital == 20.0
    assert cfg.risk.daily_loss_limit_pct == 2.0
    assert cfg.risk.var_limit_pct == 1.0
    assert cfg.risk.var_confidence == 0.95
    assert cfg.risk.max_pairwise_correlation == 0.7
    assert cfg.sqlite_path == traider_home / "traider.db"


def test_precedence_file_then_env_then_set(tmp_path: Path) -> None:
    f = tmp_path / "c.toml"
    f.write_text("[risk]\ndaily_loss_limit_pct = 1.0\nmax_order_notional_usd = 100\n")
    cfg = load_config(f, {}, environ={"TRAIDER__RISK__DAILY_LOSS_LIMIT_PCT": "1.5"})
    assert cfg.risk.daily_loss_limit_pct == 1.5
    assert cfg.risk.max_order_notional_usd == 100.0  # int in TOML accepted as a number
    cfg = load_config(f, {"risk.daily_loss_limit_pct": "0.5"},
                      environ={"TRAIDER__RISK__DAILY_LOSS_LIMIT_PCT": "1.5"})
    assert cfg.risk.daily_loss_limit_pct == 0.5
    cfg = load_config(None, {"engine.symbols": '["BTC-USD"]', "strategy.enabled": "false"},
                      environ={})
    assert cfg.engine.symbols == ("BTC-USD",)
    assert cfg.strategy.enabled is False


@pytest.mark.parametrize(
    ("text", "needles"),
    [
        ("[risk]\ndaily_loss_limt_pct = 3\n", ["risk.daily_loss_limt_pct", "daily_loss_limit_pct"]),
        ("[riks]\nx = 1\n", ["unknown section [riks]", "risk"]),
        ('[risk]\ndaily_loss_limit_pct = "2%"\n', ["risk.daily_loss_limit_pct", "a number"]),
        ("[sim]\nseed = 1.5\n", ["sim.seed", "whole number"]),
        ("[strategy]\nenabled = 1\n", ["strategy.enabled", "true or false"]),
        ("[risk]\ndaily_loss_limit_pct = -1\n", ["daily_loss_limit_pct", "(0, 100]"]),
        ('[engine]\nsymbols = ["DOGE-USD"]\n', ["DOGE-USD", "BTC-USD"]),
        ('[engine]\nmode = "yolo"\n', ["engine.mode"]),
        ("risk = 3\n", ["[section]"]),
        ("[risk\n", ["not valid TOML"]),
    ],
)
def test_bad_files_name_the_key_the_file_and_the_fix(
    tmp_path: Path, text: str, needles: list[str]
) -> None:
    f = tmp_path / "bad.toml"
    f.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_config(f, {}, environ={})
    message = str(info.value)
    assert str(f) in message
    for needle in needles:
        assert needle in message
    assert "\n" not in message


def test_bad_env_and_set_overrides_are_named() -> None:
    with pytest.raises(ConfigError, match="env TRAIDER__RISK__NOPE"):
        load_config(None, {}, environ={"TRAIDER__RISK__NOPE": "1"})
    with pytest.raises(ConfigError, match=re.escape("--set risk.daily_loss_limit_pct")):
        load_config(None, {"risk.daily_loss_limit_pct": "abc"}, environ={})
    with pytest.raises(ConfigError, match=re.escape("section.key=value")):
        load_config(None, {"risk": "1"}, environ={})


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such config file"):
        load_config(tmp_path / "nope.toml", {}, environ={})


def test_home_config_is_picked_up(traider_home: Path) -> None:
    traider_home.mkdir(parents=True)
    (traider_home / "config.toml").write_text("[sim]\nseed = 42\n")
    assert load_config(None, {}, environ={}).sim.seed == 42
