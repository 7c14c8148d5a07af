"""The process's wake-up counts (one per node or job log that was woken) stay bounded however many
jobs a long-lived worker stores logs for, and a channel woken after they start afresh still reads
as woken to a waiter that had seen none."""

from resources.jobs import wake


def test_wake_counts_stay_bounded(monkeypatch):
    monkeypatch.setattr(wake, "WOKEN_MAX", 5)
    monkeypatch.setattr(wake, "_woken", {})
    seen = wake._woken.get("trainshed_log_x", 0)
    for i in range(12):
        wake._wake_local(f"trainshed_log_{i}")
        assert len(wake._woken) <= 5
    wake._wake_local("trainshed_log_x")
    assert wake._woken.get("trainshed_log_x", 0) != seen
