from tests.conftest import Mem, ts
from tests.factories import control_finding


def test_opens_and_is_stable(mem: Mem) -> None:
    raw = control_finding("S3.2", resource_id="arn:aws:s3:::acme-exports", updated_at=ts(mem.now))
    mem.hub.add(raw)
    report = mem.sync()
    assert report.counts["opened"] == 1, report.text()
    assert mem.workflow(raw["Id"]) == "NOTIFIED"
    before = len(mem.tracker.mutations())
    report = mem.sync()
    assert len(mem.tracker.mutations()) == before, report.text()
