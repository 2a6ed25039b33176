"""One job per account at a time, woken by a flag in Redis: the drains of stored webhook events
(`sync.orders.drain`) and the reads of the orders they hand over (`sync.orders.reads`).

Redis is transport only: losing it loses no work (each user's sweep wakes every account whose
rows wait too long). Per account there are three keys:

- the wake flag: set by every request (`wake`), cleared by the holder before each look at the table;
- the holder: a lease (`lease_ms`, renewed as the job goes) held by the job that works the account,
  under its own job id, so a re-run of the same job after its worker died takes it back;
- "queued": the id of a job queued and not started yet (`queued_s` at most: a job lost before it
  started), so a burst of requests costs one queued job.

`wake` sets the flag, then: a live holder exists → done (it looks at the flag after letting go);
else, unless a job is queued, it queues one. Every clear of the flag comes before a read of the
table by a holder, and a holder looks at the flag after letting go, so a row stored and flagged at
any moment is seen by some job.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import redis

from sync.hub.queues import ENDED, job_status, queue

# One round trip: the flag, then a job unless a holder works or a job is queued.
_WAKE = ("redis.call('set', KEYS[1], '1') if redis.call('exists', KEYS[2]) == 1 then return 0 end "
         "if redis.call('set', KEYS[3], ARGV[1], 'NX', 'EX', ARGV[2]) then return 1 end return 0")
# Compare-and-renew and compare-and-delete: only the holder that took the key renews or frees it.
_RENEW = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end return 0"
LET_GO = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"
# A job starts (KEYS queued, holder, wake): "queued" goes; it takes the holder key (or finds it its own:
# the same job run again), then clears the flag; 1 when it holds the account. One round trip for three.
_START = ("redis.call('del', KEYS[1]) "
          "if redis.call('set', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2]) "
          "or redis.call('get', KEYS[2]) == ARGV[1] then "
          "redis.call('pexpire', KEYS[2], ARGV[2]) redis.call('del', KEYS[3]) return 1 end return 0")
# A round ended (KEYS wake, holder): flagged meanwhile → it keeps (or takes back) the account and
# returns 1, to work again; else it lets go and returns 0. One atomic step, so a wake either comes
# before it (this job sees it) or finds no holder (and queues a job).
_AGAIN = ("if redis.call('exists', KEYS[1]) == 1 then "
          "if redis.call('get', KEYS[2]) == ARGV[1] or redis.call('set', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2]) "
          "then redis.call('pexpire', KEYS[2], ARGV[2]) return 1 end return 0 end "
          "if redis.call('get', KEYS[2]) == ARGV[1] then redis.call('del', KEYS[2]) end return 0")


@dataclass(frozen=True)
class AccountJobs:
    """The jobs of one kind (`name`: the keys' prefix), run as `function(account_id)` on `queue_name`."""

    name: str
    queue_name: str
    function: str
    job_prefix: str
    description: str  # with {account_id}
    lease_ms: int = 15_000
    queued_s: int = 120

    def key(self, what: str, account_id: int) -> str:
        """The account's `wake`, `holder` or `queued` key."""
        return f"marketsync:{self.name}-{what}:{account_id}"

    def wake(self, r: redis.Redis, account_id: int, *, check_queued: bool = False) -> bool:
        """After the commit that stored the account's rows: make sure a job sees them; True when one
        was queued. `check_queued` (the sweep) also queues one when the job said to be queued is
        gone from Redis or ended."""
        jid = f"{self.job_prefix}-{account_id}-{uuid.uuid4().hex[:12]}"
        queued_key, holder_key = self.key("queued", account_id), self.key("holder", account_id)
        if not r.eval(_WAKE, 3, self.key("wake", account_id), holder_key, queued_key, jid, self.queued_s):
            if not check_queued or r.exists(holder_key) or self._queued_job_lives(r, queued_key):
                return False
            r.set(queued_key, jid, ex=self.queued_s)
        self.enqueue(r, account_id, jid)
        return True

    def enqueue(self, r: redis.Redis, account_id: int, jid: str) -> None:
        queue(self.queue_name, r).enqueue(self.function, account_id, job_id=jid, result_ttl=0,
                                          description=self.description.format(account_id=account_id))

    def _queued_job_lives(self, r: redis.Redis, queued_key: str) -> bool:
        jid = r.get(queued_key)
        if jid is None:
            return False
        status = job_status(r, jid.decode() if isinstance(jid, bytes) else str(jid))
        return status is not None and status not in ENDED

    def started(self, r: redis.Redis, account_id: int) -> None:
        """The queued job started: the next request queues another (the holder decides who works)."""
        r.delete(self.key("queued", account_id))

    def stay_queued(self, r: redis.Redis, account_id: int, jid: str, seconds: float) -> None:
        """The running job `jid` goes back to its queue (a retry, a hand-back): it is the account's
        queued job until then, so requests meanwhile do not queue another."""
        r.set(self.key("queued", account_id), jid, ex=int(seconds) + self.queued_s)

    def start(self, r: redis.Redis, account_id: int, holder: str) -> bool:
        """The job starts: `started`, `take` and `clear_flag` in one round trip; True when it holds the account."""
        return bool(r.eval(_START, 3, self.key("queued", account_id), self.key("holder", account_id),
                           self.key("wake", account_id), holder, self.lease_ms))

    def again(self, r: redis.Redis, account_id: int, holder: str) -> bool:
        """After a round: True (holding the account, lease renewed) when it was flagged meanwhile; else
        it lets go and returns False. The look at the flag and the letting go are one atomic step."""
        return bool(r.eval(_AGAIN, 2, self.key("wake", account_id), self.key("holder", account_id), holder,
                           self.lease_ms))

    def take(self, r: redis.Redis, account_id: int, holder: str) -> bool:
        key = self.key("holder", account_id)
        if r.set(key, holder, nx=True, px=self.lease_ms):
            return True
        current = r.get(key)
        return (current.decode() if isinstance(current, bytes) else current) == holder  # this job, run again

    def renew(self, r: redis.Redis, account_id: int, holder: str) -> bool:
        return bool(r.eval(_RENEW, 1, self.key("holder", account_id), holder, self.lease_ms))

    def hold(self, r: redis.Redis, account_id: int, holder: str) -> bool:
        """Renew the lease, or take it again when it ran out unclaimed; False when another job holds it."""
        return self.renew(r, account_id, holder) or self.take(r, account_id, holder)

    def let_go(self, r: redis.Redis, account_id: int, holder: str) -> None:
        r.eval(LET_GO, 1, self.key("holder", account_id), holder)

    def clear_flag(self, r: redis.Redis, account_id: int) -> None:
        r.delete(self.key("wake", account_id))

    def flagged(self, r: redis.Redis, account_id: int) -> bool:
        return bool(r.exists(self.key("wake", account_id)))
