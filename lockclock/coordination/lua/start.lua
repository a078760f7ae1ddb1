-- include: runs
-- A worker starts the attempt a stream entry delivered to it. Only the current
-- attempt's entry starts anything, and only for a worker whose lease has not lapsed;
-- a stale copy is acknowledged and deleted. A run that waited in the queue past its
-- schedule's max lateness before any attempt started is recorded missed instead: no
-- stampede after every worker was down for a day.
local runs_key, active_key, stream_key, workers_key, worker_runs_key =
  KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local schedule, tick, entry, worker = ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4]
-- Returns {'run', fence, attempt, enqueued_ms, claimed_by, epoch, started_ms, now,
--          claim late_ms, progress JSON or '', the tick a backfill replays or '',
--          trigger}
--      or {'missed', now}, {'stale'} (not this attempt's entry: dropped), {'gone'} (no
--      record: dropped), {'unregistered'} (our lease lapsed: left for the reaper)
local now = now_ms()
local lease = tonumber(redis.call('ZSCORE', workers_key, worker) or '0')
if lease < now then
  return {'unregistered'}
end
local rec = get_run(runs_key, tick)
if not rec then
  drop_entry(stream_key, entry)
  return {'gone'}
end
if rec.status == 'running' and rec.owner == worker and rec.entry == entry then
  -- a retried call of ours: answer as the first time
  return {'run', rec.fence, rec.attempt, rec.enqueued_ms or 0, rec.clock, rec.epoch,
    rec.attempt_started_ms or now, now, rec.late_ms or 0, rec.progress or '',
    rec.for_tick or '', rec.trigger or 'tick'}
end
if rec.status ~= 'queued' or rec.entry ~= entry then
  drop_entry(stream_key, entry)
  return {'stale'}
end
if not rec.started_ms and rec.max_late_ms and now - tick > rec.max_late_ms then
  end_run(runs_key, active_key, stream_key, rec, now, 'missed',
    'waited in the queue past its max lateness; never started')
  return {'missed', now}
end
rec.status = 'running'
rec.owner = worker
rec.attempt_started_ms = now
rec.started_ms = rec.started_ms or now
begin_attempt(runs_key, rec, now, worker)
put_run(runs_key, rec)
redis.call('SADD', worker_runs_key, schedule .. '\t' .. string.format('%d', tick))
return {'run', rec.fence, rec.attempt, rec.enqueued_ms or 0, rec.clock, rec.epoch, now, now,
  rec.late_ms or 0, rec.progress or '', rec.for_tick or '', rec.trigger or 'tick'}
