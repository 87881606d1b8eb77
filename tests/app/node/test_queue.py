"""The durable job queue on a real store: grouping, quiet time (injected clock), job states, backoff."""

from __future__ import annotations

import pydicom
import pytest

from app.node.grouping import acquisition_of
from app.node.queue import open_queue
from app.node.settings import NodeSettings
from app.store import read_header
from tests.app.node.helpers import single_frame_files


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, t: float = 1_000_000.0):
        self.t = t

    def __call__(self) -> float:
        return self.t


@pytest.fixture(scope="module")
def projection_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("proj")
    return {
        "announced": single_frame_files(folder / "a", seed=0),
        "silent": single_frame_files(folder / "b", seed=1, announce=False),
    }


@pytest.fixture
def queue(tmp_path):
    clock = Clock()
    q = open_queue(tmp_path / "store", clock=clock)
    q.test_clock = clock
    yield q
    q.close()


def _receive(queue, path, **kw):
    info = acquisition_of(pydicom.dcmread(path, stop_before_pixels=True))
    return queue.record_received(read_header(path), path, info, calling_ae="MODALITY", **kw)


def test_an_announced_acquisition_is_queued_when_its_last_projection_arrives(queue, projection_files):
    paths = projection_files["announced"]
    outcomes = [_receive(queue, p) for p in paths]
    assert [o.job for o in outcomes[:-1]] == [None] * 8 and outcomes[-1].job is not None
    assert len({o.acquisition for o in outcomes}) == 1
    job = queue.job(outcomes[-1].job)
    assert (job.state, job.projections, job.expected, job.attempts) == ("queued", 9, 9, 0)
    assert sorted(p for _, p in queue.sources(job.id)) == sorted(paths)
    # a resent object is acknowledged again but neither counted nor queued twice
    again = _receive(queue, paths[3])
    assert again.outcome == "duplicate" and again.job is None and queue.job(job.id).projections == 9
    assert len(queue.jobs()) == 1 and len(queue.store.instances()) == 9


def test_an_unannounced_acquisition_waits_for_the_quiet_time(queue, projection_files):
    clock = queue.test_clock
    for i, path in enumerate(projection_files["silent"]):
        clock.t += 2.0
        assert _receive(queue, path).job is None
        if i == 4:
            assert queue.sweep(quiet_s=30.0, now=clock.t + 29.9) == []  # still arriving
    last = clock.t
    assert queue.sweep(quiet_s=30.0, now=last + 29.999) == []
    assert queue.counts()["open"] == 1
    (job_id,) = queue.sweep(quiet_s=30.0, now=last + 30.0)
    assert queue.job(job_id).projections == 9 and queue.job(job_id).expected is None
    assert queue.sweep(quiet_s=30.0, now=last + 1000.0) == []  # queued once
    assert queue.counts() == {"queued": 1, "running": 0, "done": 0, "failed": 0, "open": 0}


def test_job_states_backoff_failure_retry_and_resume(queue, projection_files):
    settings = NodeSettings(backoff_s=2.0, backoff_max_s=5.0, max_attempts=3)
    assert [settings.backoff(a) for a in (1, 2, 3, 4)] == [2.0, 4.0, 5.0, 5.0]
    clock = queue.test_clock
    job_id = [_receive(queue, p) for p in projection_files["announced"]][-1].job
    assert queue.claim(limit=0) == []
    assert queue.claim(limit=4) == [job_id] and queue.job(job_id).state == "running"
    with pytest.raises(ValueError, match="running, not failed"):
        queue.retry(job_id)
    assert queue.claim(limit=4) == []
    # transient failure: queued again, not due before the backoff
    assert queue.defer(job_id, "PACS down", delay_s=settings.backoff(1), max_attempts=3) == "queued"
    assert queue.claim(limit=1, now=clock.t + 1.9) == []
    assert queue.claim(limit=1, now=clock.t + 2.0) == [job_id]
    assert queue.job(job_id).attempts == 2
    # the node dies while it runs: a restart queues it again, due at once
    assert queue.resume(now=clock.t + 3) == [job_id]
    job = queue.job(job_id)
    assert job.state == "queued" and "interrupted" in job.reason and job.next_at == clock.t + 3
    assert queue.claim(limit=1, now=clock.t + 3) == [job_id] and queue.job(job_id).attempts == 3
    # third failure: attempts exhausted
    assert queue.defer(job_id, "PACS down", delay_s=4.0, max_attempts=3) == "failed"
    job = queue.job(job_id)
    assert job.state == "failed" and "PACS down" in job.reason and "3 attempts" in job.reason
    queue.fail(job_id, "bad input")
    queue.retry(job_id, now=clock.t + 10)
    job = queue.job(job_id)
    assert (job.state, job.attempts, job.next_at) == ("queued", 0, clock.t + 10) and "bad input" in job.reason
    with pytest.raises(KeyError):
        queue.retry(999)
    assert queue.claim(limit=1, now=clock.t + 10) == [job_id]
    queue.finish(job_id, now=clock.t + 20)
    assert queue.done_since(clock.t + 20) == 1 and queue.done_since(clock.t + 20.1) == 0


def test_results_are_recorded_and_marked_sent(queue, projection_files):
    job_id = [_receive(queue, p) for p in projection_files["announced"]][-1].job
    target = queue.root / "files" / "x.dcm"
    queue.add_result(job_id, "volume", "2.25.1234", target)
    queue.mark_sent(job_id, "volume", now=5.0)
    queue.add_result(job_id, "volume", "2.25.1234", target)  # recorded again: the sent time stays
    (rec,) = queue.results(job_id).values()
    assert (rec.kind, rec.sop_instance_uid, rec.path, rec.sent_at) == ("volume", "2.25.1234", target, 5.0)
