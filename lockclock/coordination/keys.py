"""The one table of Redis key names.

Every key of a namespace carries it as a hash tag, so each script's keys share one slot
(the step towards Redis Cluster). With the default namespace `lockclock`:

    {lockclock}:layout             string  the key layout's version; acquire and claim
                                           refuse a namespace recorded with another
    {lockclock}:lease              hash    the active clock: clock, epoch, acquired_ms;
                                           expires with the lease
    {lockclock}:lease:signal       list    pushed on release, so a blocked standby wakes
    {lockclock}:lease:last         hash    the last holder: clock, epoch, renewed_ms,
                                           expires_ms, released_ms (for outage reports)
    {lockclock}:epoch              counter lease epochs
    {lockclock}:fence              counter fencing tokens, one per run
    {lockclock}:hwm                hash    schedule -> highest tick claimed or recorded
    {lockclock}:runs:<schedule>    hash    tick -> run record (JSON)
    {lockclock}:ticks:<schedule>   zset    tick -> tick: the records' index, capped
                                           (a run that has not ended is never trimmed)
    {lockclock}:active:<schedule>  zset    tick -> tick: runs that have not ended
    {lockclock}:queue:<queue>      stream  one entry per attempt to deliver (schedule,
                                           tick, attempt, fence); consumer group
                                           `lockclock`, one consumer per worker; entries
                                           are acknowledged and deleted when an attempt
                                           ends, never trimmed by length
    {lockclock}:delayed            zset    "schedule<TAB>tick" -> when its next attempt is
                                           due (retries after an error, hand-backs)
    {lockclock}:workers            zset    worker id -> its lease's expiry (an inline
                                           clock is a worker too)
    {lockclock}:worker:<id>        hash    info (JSON), queues (comma-separated)
    {lockclock}:worker:<id>:runs   set     "schedule<TAB>tick" of the runs it started
    {lockclock}:reachable:seen     string  when the last lease call or worker beat came
    {lockclock}:reachable:since    string  the end of the last gap between them longer
                                           than a worker's beat (prelude.lua)
    {lockclock}:outages:<schedule> list    outage windows (JSON), newest first, last 100
    {lockclock}:next               hash    schedule -> next tick (for status)
    {lockclock}:schedules          hash    schedule -> published description (JSON)
    {lockclock}:clocks             hash    clock id -> heartbeat (JSON)
    {lockclock}:generation         string  a random token; vanishes with lost data
    {lockclock}:paused             hash    schedule (or * for all) -> pause (JSON: id,
                                           reason, actor, until_ms, spans)
    {lockclock}:requests           list    ids of operators' requests for the active
                                           clock (trigger, resume), oldest first
    {lockclock}:request:<id>       string  a request and its answer (JSON), 7 days
    {lockclock}:idempotency:<key>  string  -> the request an Idempotency-Key made, 1 day
    {lockclock}:audit              stream  operators' actions (action, target, actor,
                                           source, reason), the last ~10,000
    {lockclock}:stats:<schedule>   hash    hourly counters by outcome (8 days), totals
                                           by outcome and trigger, last success, and
                                           lateness and duration histograms; the scripts
                                           that end runs derive it from the runs key

A tick's record is at its tick, always a whole second. What is not a tick (a manual
run, a pause's span) is keyed at an instant off the whole seconds, so the two never
collide and neither moves the high-water mark.

Times are Redis server time in epoch milliseconds; values are JSON or plain strings,
never pickle. Schedule and queue names never hold a tab (they are printable), so
"schedule<TAB>tick" is unambiguous.
"""

from __future__ import annotations

from dataclasses import dataclass

# The version of the layout above. A clock refuses a namespace recorded with another
# one, so two versions can never fire the same tick under different keys.
LAYOUT_VERSION = "2"


def layout_refused(namespace: str, found: str) -> str:
    """The one line for a namespace Redis holds in a layout this lockclock does not know."""
    return (
        f"Redis holds namespace {namespace!r} in key layout {found}, and this lockclock "
        f"knows only layout {LAYOUT_VERSION}: run one lockclock version per namespace "
        "(upgrade or downgrade this process to match the others, or give it another "
        "LOCKCLOCK_NAMESPACE)"
    )


@dataclass(frozen=True)
class Keys:
    namespace: str

    @property
    def prefix(self) -> str:
        return "{" + self.namespace + "}"

    def key(self, *parts: str) -> str:
        return ":".join((self.prefix, *parts))

    @property
    def layout(self) -> str:
        return self.key("layout")

    @property
    def lease(self) -> str:
        return self.key("lease")

    @property
    def lease_signal(self) -> str:
        return self.key("lease", "signal")

    @property
    def lease_last(self) -> str:
        return self.key("lease", "last")

    @property
    def epoch(self) -> str:
        return self.key("epoch")

    @property
    def fence(self) -> str:
        return self.key("fence")

    @property
    def hwm(self) -> str:
        return self.key("hwm")

    def runs(self, schedule: str) -> str:
        return self.key("runs", schedule)

    def ticks(self, schedule: str) -> str:
        return self.key("ticks", schedule)

    def outages(self, schedule: str) -> str:
        return self.key("outages", schedule)

    def active(self, schedule: str) -> str:
        return self.key("active", schedule)

    def queue(self, name: str) -> str:
        return self.key("queue", name)

    @property
    def delayed(self) -> str:
        return self.key("delayed")

    @property
    def workers(self) -> str:
        return self.key("workers")

    @property
    def reachable_seen(self) -> str:
        return self.key("reachable", "seen")

    @property
    def reachable_since(self) -> str:
        return self.key("reachable", "since")

    def worker(self, worker_id: str) -> str:
        return self.key("worker", worker_id)

    def worker_runs(self, worker_id: str) -> str:
        return self.key("worker", worker_id, "runs")

    @property
    def next(self) -> str:
        return self.key("next")

    @property
    def schedules(self) -> str:
        return self.key("schedules")

    @property
    def clocks(self) -> str:
        return self.key("clocks")

    @property
    def generation(self) -> str:
        return self.key("generation")

    @property
    def paused(self) -> str:
        return self.key("paused")

    @property
    def requests(self) -> str:
        return self.key("requests")

    def request(self, request_id: str) -> str:
        return self.key("request", request_id)

    def idempotency(self, key: str) -> str:
        return self.key("idempotency", key)

    def stats(self, schedule: str) -> str:
        return self.key("stats", schedule)

    @property
    def audit(self) -> str:
        return self.key("audit")

    @property
    def legacy_schedules(self) -> str:
        """Where builds before layout 2 published their schedules (no hash tag)."""
        return f"{self.namespace}:schedules"
