"""Model registry: transitions, approval rules, promote/rollback, persistence, CLI."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from traider.cli_models import models_app
from traider.engine.models.registry import (
    TRANSITIONS,
    IllegalTransition,
    ModelRegistry,
    ModelState,
    RegistryError,
    UnknownModel,
)
from traider.engine.state.sqlite_store import SQLiteStore

C, A, L, R = ModelState.CANDIDATE, ModelState.APPROVED, ModelState.LIVE, ModelState.RETIRED


def _clock() -> itertools.count[int]:
    return itertools.count(1_000, 1_000)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SQLiteStore]:
    s = SQLiteStore(tmp_path / "t.db")
    yield s
    s.close()


@pytest.fixture
def reg(store: SQLiteStore) -> ModelRegistry:
    return ModelRegistry(store, clock=_clock().__next__)


def _register(reg: ModelRegistry, name: str = "xgb") -> str:
    rec = reg.register(
        name,
        params={"depth": 4, "eta": 0.1},
        data_start_ns=1,
        data_end_ns=2,
        data_hash="sha256:abc",
        metrics={"auc": 0.56},
        artifact_path=f"/models/{name}.json",
    )
    return rec.model_id


def _live(reg: ModelRegistry, name: str = "xgb") -> str:
    model_id = _register(reg, name)
    reg.approve(model_id, "alice")
    reg.promote(model_id, "alice")
    return model_id


def test_register_assigns_versioned_ids_and_records_everything(reg: ModelRegistry) -> None:
    assert _register(reg) == "xgb-1"
    assert _register(reg) == "xgb-2"
    assert _register(reg, "lstm") == "lstm-1"
    rec = reg.get("xgb-2")
    assert (rec.name, rec.version, rec.state) == ("xgb", 2, C)
    assert rec.params == {"depth": 4, "eta": 0.1}
    assert rec.metrics == {"auc": 0.56}
    assert (rec.data_start_ns, rec.data_end_ns, rec.data_hash) == (1, 2, "sha256:abc")
    assert rec.history[0].state is C
    assert rec.history[0].by == "trainer"
    with pytest.raises(RegistryError, match="model name"):
        _register(reg, "bad name")


def _in_state(reg: ModelRegistry, state: ModelState) -> str:
    model_id = _register(reg, f"m{len(reg.records())}")
    if state is C:
        return model_id
    if state is R:
        reg.retire(model_id, "ops")
        return model_id
    reg.approve(model_id, "alice")
    if state is L:
        reg.promote(model_id, "alice")
    return model_id


def _move(reg: ModelRegistry, model_id: str, to: ModelState) -> None:
    if to is A:
        reg.approve(model_id, "alice")
    elif to is L:
        reg.promote(model_id, "alice")
    elif to is R:
        reg.retire(model_id, "alice")
    else:
        raise AssertionError("no operation moves a model back to candidate")


@pytest.mark.parametrize("src", list(ModelState))
@pytest.mark.parametrize("dst", [A, L, R])
def test_every_transition_is_allowed_or_refused_per_the_table(
    reg: ModelRegistry, src: ModelState, dst: ModelState
) -> None:
    model_id = _in_state(reg, src)
    if dst in TRANSITIONS[src] and not (src is L and dst is A):
        _move(reg, model_id, dst)
        assert reg.get(model_id).state is dst
    else:  # live → approved happens only through a promote or rollback of another model
        with pytest.raises(IllegalTransition, match=model_id):
            _move(reg, model_id, dst)
        assert reg.get(model_id).state is src


def test_transition_table_is_explicit() -> None:
    assert {C: {A, R}, A: {L, R}, L: {A, R}, R: set()} == TRANSITIONS


def test_only_an_operator_approves_and_only_candidates(reg: ModelRegistry) -> None:
    model_id = _register(reg)
    for nobody in ("", "   "):
        with pytest.raises(RegistryError, match="--by"):
            reg.approve(model_id, nobody)
    for machine in ("system", "Trainer", "engine"):
        with pytest.raises(RegistryError, match="human operator"):
            reg.approve(model_id, machine)
    assert reg.get(model_id).state is C
    with pytest.raises(IllegalTransition, match="approve"):
        reg.promote(model_id, "alice")  # not approved yet
    rec = reg.approve(model_id, " alice ")
    assert rec.state is A
    assert rec.history[-1].by == "alice"
    with pytest.raises(IllegalTransition, match="only a candidate"):
        reg.approve(model_id, "alice")
    with pytest.raises(UnknownModel, match="xgb-9"):
        reg.approve("xgb-9", "alice")
    with pytest.raises(RegistryError, match="human operator"):
        reg.promote(model_id, "system")


def test_promote_moves_the_previous_live_model_back_to_approved(reg: ModelRegistry) -> None:
    first = _live(reg)
    second = _register(reg)
    reg.approve(second, "bob")
    rec = reg.promote(second, "bob")
    assert rec.state is L
    assert reg.get(first).state is A
    assert reg.live("xgb") == reg.get(second)
    demote = reg.get(first).history[-1]
    assert (demote.state, demote.action, demote.by) == (A, "demote", "bob")
    assert demote.reason == f"replaced by {second}"
    other = _live(reg, "lstm")  # another name is independent
    assert reg.get(second).state is L
    assert reg.get(other).state is L


def test_rollback_restores_the_previous_live_version(reg: ModelRegistry) -> None:
    v1, v2, v3 = _live(reg), _live(reg), _live(reg)
    assert [reg.get(m).state for m in (v1, v2, v3)] == [A, A, L]
    assert reg.rollback("xgb", "carol").model_id == v2
    assert [reg.get(m).state for m in (v1, v2, v3)] == [A, L, A]
    assert reg.get(v3).history[-1].reason == f"rolled back to {v2}"
    assert reg.rollback("xgb", "carol").model_id == v1  # repeated rollbacks walk back
    with pytest.raises(IllegalTransition, match="no earlier live version"):
        reg.rollback("xgb", "carol")
    with pytest.raises(UnknownModel):
        reg.rollback("nope", "carol")
    with pytest.raises(RegistryError, match="human operator"):
        reg.rollback("xgb", "auto")


def test_rollback_skips_retired_versions_and_works_after_retiring_live(
    reg: ModelRegistry,
) -> None:
    v1, v2, v3 = _live(reg), _live(reg), _live(reg)
    reg.retire(v2, "ops", reason="bad data")
    assert reg.rollback("xgb", "carol").model_id == v1
    reg.promote(v3, "carol")
    reg.retire(v3, "ops")  # the live model is gone: rollback brings back the last one
    assert reg.live("xgb") is None
    assert reg.rollback("xgb", "carol").model_id == v1


def test_state_and_history_survive_reopening(tmp_path: Path) -> None:
    path = tmp_path / "t.db"
    with SQLiteStore(path) as store:
        reg = ModelRegistry(store, clock=_clock().__next__)
        v1, v2, v3 = _live(reg), _live(reg), _live(reg)
        reg.rollback("xgb", "carol")
        before = [r.to_dict() for r in reg.records()]
    with SQLiteStore(path) as store:
        again = ModelRegistry(store)
        assert [r.to_dict() for r in again.records()] == before
        assert again.live("xgb") == again.get(v2)
        changes = [e for _, e in store.journal(types=("ModelStateChanged",))
                   if getattr(e, "model_id", "") == v3]
        assert changes[-1].to_state == "approved"  # the journal holds every transition
        assert again.rollback("xgb", "dave").model_id == v1  # the live stack was rebuilt


def test_two_registries_on_one_store_see_each_other(tmp_path: Path) -> None:
    path = tmp_path / "t.db"
    with SQLiteStore(path) as s1, SQLiteStore(path) as s2:
        a, b = ModelRegistry(s1), ModelRegistry(s2)
        model_id = _register(a)
        b.approve(model_id, "bob")  # b refreshes inside its transaction
        with pytest.raises(IllegalTransition):
            a.approve(model_id, "alice")  # a sees b's approval before deciding
        assert a.get(model_id).state is A


def _invoke(home: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(models_app, list(args), env={"TRAIDER_HOME": str(home)})
    return result.exit_code, result.stdout, result.stderr


def test_cli_lifecycle(tmp_path: Path) -> None:
    home = tmp_path / "home"
    code, out, _ = _invoke(home, "list", "--json")
    assert (code, json.loads(out)) == (0, {"models": []})
    assert not (home / "traider.db").exists()  # listing never creates the store
    with SQLiteStore(home / "traider.db") as store:
        reg = ModelRegistry(store)
        _register(reg)
        _register(reg)
    code, out, _ = _invoke(home, "approve", "xgb-1", "--by", "alice")
    assert code == 0
    assert "xgb-1: approve → approved by alice" in out
    code, out, _ = _invoke(home, "promote", "xgb-1", "--by", "alice", "--json")
    assert code == 0
    assert json.loads(out)["state"] == "live"
    _invoke(home, "approve", "xgb-2", "--by", "bob")
    _invoke(home, "promote", "xgb-2", "--by", "bob")
    code, out, _ = _invoke(home, "rollback", "xgb", "--by", "carol")
    assert code == 0
    assert out.startswith("xgb-1: rollback → live")
    code, out, _ = _invoke(home, "retire", "xgb-2", "--by", "ops", "--reason", "stale")
    assert code == 0
    assert "(stale)" in out
    code, out, _ = _invoke(home, "list", "--json")
    models = json.loads(out)["models"]
    assert [(m["model_id"], m["state"]) for m in models] == [
        ("xgb-1", "live"),
        ("xgb-2", "retired"),
    ]
    assert set(models[0]) == {
        "model_id",
        "name",
        "version",
        "state",
        "params",
        "data_start_ns",
        "data_end_ns",
        "data_hash",
        "metrics",
        "artifact_path",
        "history",
    }
    code, out, _ = _invoke(home, "list")
    assert code == 0
    assert "xgb-1" in out
    assert "live" in out


def test_cli_errors_are_one_line_with_exit_codes(tmp_path: Path) -> None:
    home = tmp_path / "home"
    with SQLiteStore(home / "traider.db") as store:
        _register(ModelRegistry(store))
    code, _, err = _invoke(home, "approve", "xgb-1")
    assert code == 2
    assert err.strip() == ("traider: approve needs --by NAME: the operator doing it")
    code, _, err = _invoke(home, "approve", "xgb-1", "--by", "system")
    assert code == 2
    assert "human operator" in err
    code, _, err = _invoke(home, "approve", "xgb-7", "--by", "alice")
    assert code == 2
    assert "no model 'xgb-7'" in err
    code, _, err = _invoke(home, "promote", "xgb-1", "--by", "alice")
    assert code == 1
    assert "candidate" in err
    assert len(err.strip().splitlines()) == 1
    code, _, err = _invoke(home, "rollback", "xgb", "--by", "alice")
    assert code == 1
    assert "no earlier live version" in err
