"""Our one-round-trip enqueue queues exactly what arq's enqueue_job would, with the same refusal of
a job id that is queued already or whose result is still kept."""

from __future__ import annotations

from arq.constants import default_queue_name, result_key_prefix
from arq.jobs import Job, JobStatus

from app.core.events import Event
from app.core.jobs import close_pool, dispatch, enqueue, get_pool
from app.core.redis import get_redis
from app.settings import get_settings


async def test_the_job_reads_back_as_arq_queued_it_and_a_second_one_with_its_id_is_refused():
    await close_pool()
    pool = await get_pool()
    assert await enqueue("assign_ticket", 41, {"甲": [1, 2]}, job_id="jobs-test:1") is True
    info = await Job("jobs-test:1", pool).info()
    assert (info.function, info.args, info.kwargs, info.job_try) == ("assign_ticket", (41, {"甲": [1, 2]}), {}, None)
    assert await Job("jobs-test:1", pool).status() == JobStatus.queued
    assert await enqueue("assign_ticket", 99, job_id="jobs-test:1") is False  # still the first job's arguments
    assert (await Job("jobs-test:1", pool).info()).args == (41, {"甲": [1, 2]})
    await get_redis().set(result_key_prefix + "jobs-test:2", b"done")  # finished, result kept
    assert await enqueue("assign_ticket", 5, job_id="jobs-test:2") is False
    queued = await get_redis().zrange(default_queue_name, 0, -1)
    assert "jobs-test:1" in queued and "jobs-test:2" not in queued
    expires = await get_redis().pttl("arq:job:jobs-test:1")
    assert 86_000_000 < expires <= 86_400_000  # arq's default: a day
    await close_pool()


async def test_dispatch_publishes_the_events_and_queues_the_jobs_in_one_go():
    redis = get_redis()
    subscriber = redis.pubsub()
    await subscriber.subscribe(get_settings().redis.events_channel)
    await subscriber.get_message(timeout=1)  # the subscribe confirmation
    await dispatch(
        [Event("ticket.created", {"id": 7})], [("assign_ticket", (7,), "jobs-test:d1", 0), ("sla_scan", (), None, 0)]
    )
    message = await subscriber.get_message(timeout=2)
    while message is not None and message["type"] != "message":
        message = await subscriber.get_message(timeout=2)
    assert message is not None and Event.from_json(message["data"]).payload == {"id": 7}
    await subscriber.aclose()
    queued = await redis.zrange(default_queue_name, 0, -1)
    assert "jobs-test:d1" in queued and len(queued) >= 2
