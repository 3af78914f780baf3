"""Crash injection on the order path (issue #18 "Crash safety", failure_modes §3, F1-F6, F17).

Each case kills the *whole* live process (every actor of the account: StateKeeper, Executor,
their threads) with SIGKILL at one step of the order path, against one venue outcome, then
starts a new live process on the same journal and venue and checks, after its rebuild and
reconciliation (``harness.converged``): zero orphan orders, zero duplicate orders, zero
unprotected (or doubly protected) positions, journal equal to the venue — plus what that case
must end with (exactly one order per intent the venue accepted, none for the ones it never saw).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.crash.harness import arm, bench, converged, intent, slow_reply

OUTCOMES = ("fill", "partial", "none", "reject", "timeout")
FILLED = {"fill": 0.01, "partial": 0.005, "timeout": 0.01}


def _entry(b: object, outcome: str, tag: str) -> object:
    return intent(b, tag, kind="limit" if outcome == "none" else "market")  # type: ignore[arg-type]


def _expect_entry(facts: dict, outcome: str, cloid: str) -> None:
    """What the venue (and so the journal) holds after an entry met ``outcome`` once."""
    pos = facts["positions"].get("BTC", 0.0)
    assert pos == pytest.approx(FILLED.get(outcome, 0.0))
    status = facts["statuses"].get(cloid)
    if outcome == "none":
        assert [o.cloid for o in facts["open"] if not o.reduce_only] == [cloid]
        assert status in ("resting", "sent")
    elif outcome == "reject":
        assert status == "rejected" and pos == 0.0
    elif outcome == "partial":  # a market (IOC) order half filled, the rest canceled
        assert status in ("filled", "canceled")
    else:
        assert status == "filled"
    if outcome != "reject":
        assert list(facts["per_signal"].values()) == [1]  # exactly one order for the intent


def test_k1_crash_before_the_intent_is_journaled_leaves_nothing(tmp_path: Path) -> None:
    with bench(tmp_path) as b:
        i = _entry(b, "fill", "k1")
        b.crash(b.script(submit=(i.model_dump_json(),), crash="K1"))
        b.restart()
        facts = converged(b)
        assert not b.holds(i.cloid) and facts["positions"] == {}
        with b.journal() as j:
            assert j.intent(i.cloid) is None  # never journaled, never sent


@pytest.mark.parametrize("outcome", OUTCOMES)
def test_k2_fresh_intent_is_resent_with_the_same_cloid(tmp_path: Path, outcome: str) -> None:
    """Journaled, never sent: the restart finds no order by cloid and the intent is fresh, so it
    is sent again with the same cloid and meets the venue's outcome exactly once."""
    with bench(tmp_path) as b:
        i = _entry(b, outcome, f"k2-{outcome}")
        b.crash(b.script(submit=(i.model_dump_json(),), crash="K2"))
        assert not b.holds(i.cloid)  # died before the venue call
        b.restart(outcome)  # the re-send meets the outcome
        _expect_entry(converged(b), outcome, i.cloid)
        if outcome == "fill":
            b.restart()  # and once more: nothing changes (F6)
            _expect_entry(converged(b), outcome, i.cloid)


def test_k2_stale_intent_is_abandoned_not_sent(tmp_path: Path) -> None:
    with bench(tmp_path) as b:
        i = _entry(b, "fill", "k2-stale")
        b.crash(b.script(submit=(i.model_dump_json(),), crash="K2"))
        b.restart(resend_within_ms=0.0)  # any age is too old
        facts = converged(b)
        assert not b.holds(i.cloid) and facts["positions"] == {}
        with b.journal() as j:
            upd = j.latest_update(i.cloid)
            assert upd is not None and upd.status == "canceled" and "abandoned" in upd.error
            assert i.cloid not in {x.cloid for x in j.open_intents()}
            kinds = j._read(lambda c: [r[0] for r in c.execute("SELECT kind FROM events")])
        assert "intent_abandoned" in kinds
        b.restart()  # a later restart with a generous window still never sends it
        assert not b.holds(i.cloid)


@pytest.mark.parametrize("outcome", ("fill", "partial", "none", "reject"))
def test_k3_sent_no_reply(tmp_path: Path, outcome: str) -> None:
    """The venue accepted the request; the process is killed while the reply is held back."""
    with bench(tmp_path) as b:
        i = _entry(b, outcome, f"k3-{outcome}")
        arm(b, outcome)
        b.sim.faults.inject("timeout_after_accept", count=1, hang_seconds=120.0)
        b.kill_when_venue_holds(slow_reply(b, b.script(submit=(i.model_dump_json(),))), i.cloid)
        b.restart()
        _expect_entry(converged(b), outcome, i.cloid)


@pytest.mark.parametrize("outcome", OUTCOMES)
def test_k4_reply_read_not_journaled(tmp_path: Path, outcome: str) -> None:
    with bench(tmp_path) as b:
        i = _entry(b, outcome, f"k4-{outcome}")
        arm(b, outcome)
        b.crash(b.script(submit=(i.model_dump_json(),), crash="K4"))
        b.restart()
        _expect_entry(converged(b), outcome, i.cloid)


@pytest.mark.parametrize("point", ("K5", "K6", "K7"))
@pytest.mark.parametrize("outcome", ("fill", "partial", "timeout"))
def test_crash_between_the_fill_and_its_stop(tmp_path: Path, point: str, outcome: str) -> None:
    """K5 fill not journaled; K6 fill journaled, stop not sent; K7 stop sent, ack not
    journaled: the restart journals the fill once and leaves exactly one stop resting."""
    with bench(tmp_path) as b:
        i = _entry(b, outcome, f"{point}-{outcome}")
        arm(b, outcome)
        b.crash(b.script(submit=(i.model_dump_json(),), crash=point))
        b.restart()
        _expect_entry(converged(b), outcome, i.cloid)


@pytest.mark.parametrize("outcome", ("fill", "partial"))
def test_k8_crash_between_the_new_stop_and_the_old_ones_cancel(
    tmp_path: Path, outcome: str
) -> None:
    """A second fill grows the position: a stop for the whole size is placed first, then the old
    one cancelled. Killed in between, the position has two stops (over-, never under-protected);
    the restart cancels the extra one."""
    with bench(tmp_path) as b:
        first = intent(b, "k8-a")
        second = intent(b, f"k8-b-{outcome}")
        b.live(b.script(submit=(first.model_dump_json(),)))
        arm(b, outcome)
        b.crash(b.script(submit=(second.model_dump_json(),), crash="K8",
                         one_entry_per_symbol=False))  # fmt: skip
        stops = [o for o in b.venue.open_orders() if o.kind == "stop_loss"]
        assert sorted(o.remaining for o in stops) == pytest.approx(
            sorted([0.01, 0.01 + FILLED[outcome]])
        )  # both rest at the moment of the crash: never unprotected
        b.restart()
        facts = converged(b)
        assert facts["positions"]["BTC"] == pytest.approx(0.01 + FILLED[outcome])


@pytest.mark.parametrize("point", ("K2", "K7"))
@pytest.mark.parametrize("outcome", ("fill", "partial", "reject"))
def test_crash_during_exit(tmp_path: Path, point: str, outcome: str) -> None:
    """A reduce-only exit of an open, protected position: journaled and not sent (K2, re-sent
    on restart: an exit only lowers risk) or sent with its reply lost (K7, found by cloid)."""
    with bench(tmp_path) as b:
        entry = intent(b, f"exit-{point}-{outcome}")
        b.live(b.script(submit=(entry.model_dump_json(),)))
        out = intent(b, f"exit-{point}-{outcome}", side="sell", purpose="exit")
        arm(b, outcome)
        b.crash(b.script(submit=(out.model_dump_json(),), crash=point))
        b.restart(outcome if point == "K2" else None)  # K2: the re-send meets the outcome
        facts = converged(b)
        left = {"fill": 0.0, "partial": 0.005, "reject": 0.01}[outcome]
        assert facts["positions"].get("BTC", 0.0) == pytest.approx(left)
        assert b.holds(out.cloid)  # the exit reached the venue exactly once (cloid unique)


@pytest.mark.parametrize("crash", ("K2", "K4"))
def test_a_batch_killed_before_or_after_its_venue_request_converges(
    tmp_path: Path, crash: str
) -> None:
    """The entries of one close journaled in one transaction and placed in one request
    (``submit_many``): killed after the journal commit and before the request (K2: the restart
    sends each fresh intent once, with its cloid), or after the request and before the
    outcomes were journaled (K4: the restart finds each order by cloid). Either way one order
    per intent, the journal equal to the venue."""
    with bench(tmp_path) as b:
        batch = [intent(b, f"batch-{crash}-{k}", kind="limit", away=0.05 + 0.01 * k)
                 for k in range(2)]  # fmt: skip
        b.crash(b.script(submit=tuple(i.model_dump_json() for i in batch), crash=crash,
                         batch=True, one_entry_per_symbol=False))  # fmt: skip
        assert [b.holds(i.cloid) for i in batch] == [crash == "K4"] * 2
        b.restart(one_entry_per_symbol=False)
        facts = converged(b)
        assert facts["per_signal"] == {i.signal_id: 1 for i in batch}
        resting = sorted(o.cloid for o in facts["open"] if not o.reduce_only)
        assert resting == sorted(i.cloid for i in batch)
        assert [facts["statuses"].get(i.cloid) for i in batch] == ["resting"] * 2
