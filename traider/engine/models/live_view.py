"""What the screen and `traider models status` show of the live models (`ModelsView`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from traider.engine.view import EMPTY_MODELS, CandidateLine, ModelLine, ModelsView, SignalLine

if TYPE_CHECKING:
    from traider.engine.models.live import LiveModels

__all__ = ["build_view", "candidate_lines"]


def candidate_lines(registry: Any, limit: int = 10) -> tuple[CandidateLine, ...]:
    """Models waiting for an operator (candidate or approved), newest change first."""
    from traider.engine.models.registry import ModelState

    if registry is None:
        return ()
    waiting = [
        r for r in registry.records() if r.state in (ModelState.CANDIDATE, ModelState.APPROVED)
    ]
    waiting.sort(key=lambda r: r.history[-1].at_ns, reverse=True)
    out = []
    for r in waiting[:limit]:
        m = r.metrics
        acc, ci = m.get("oos_accuracy"), m.get("oos_accuracy_ci")
        wf = m.get("walk_forward")
        verdict = wf.get("verdict", []) if isinstance(wf, dict) else []
        out.append(
            CandidateLine(
                r.model_id,
                r.name,
                r.state.value,
                float(acc) if isinstance(acc, int | float) else None,
                (float(ci[0]), float(ci[1])) if isinstance(ci, list) and len(ci) == 2 else None,
                r.history[0].by,
                r.registered_at_ns,
                str(m.get("report") or ""),
                tuple(str(v) for v in verdict if isinstance(v, str)),
            )
        )
    return tuple(out)


def build_view(lm: LiveModels) -> ModelsView:
    if not lm.config.enabled:
        return EMPTY_MODELS
    now = lm.clock.timestamp_ns()
    weights = lm.weights()
    latest = lm.latest()
    lines = []
    for slot in lm.slots.values():
        member = slot.member
        m = lm.tracker.metrics(member)
        preds = tuple(
            (sym, u.predictions[u.models.index(member)])
            for sym, u in sorted(latest.items())
            if member in u.models
        )
        age = slot.age_days(now)
        lines.append(
            ModelLine(
                member,
                slot.name,
                slot.state,
                float(weights.get(member, 0.0)) if slot.state == "live" else 0.0,
                preds,
                m.hit_rate,
                m.log_loss,
                m.brier,
                m.pnl_contribution,
                age,
                lm.config.max_age_days - age,
                slot.note,
            )
        )
    signals = tuple(
        SignalLine(sym, u.prob_up, u.confidence, u.ts_event, lm.signal(sym, now) is not None)
        for sym, u in sorted(latest.items())
    )
    note = ""
    if not lm.slots:
        note = "no live model: train, approve and promote one (traider models --help)"
    elif not any(s.state == "live" for s in lm.slots.values()):
        note = "no model in use: see each model's note"
    return ModelsView(
        lm.version,
        True,
        tuple(lines),
        signals,
        lm.retrain.lines(),
        lm.bars.completed,
        note,
        candidate_lines(lm.registry),
        lm.vetoes,
    )
