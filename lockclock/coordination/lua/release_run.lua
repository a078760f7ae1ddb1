-- include: runs
-- A live worker gives up an attempt that Redis says it runs but it does not: after Redis
-- lost writes, an outcome or a start it made may be gone, leaving a record that would
-- never end (and, with overlap "skip", block its schedule). Only an attempt started
-- over `grace_ms` ago is released, so one being started right now is not. With workers
-- the run gets a new attempt (the active clock assigns it); inline it ends lost, since
-- it may have run: inline execution is at most once.
local runs_key, active_key, stream_key, worker_runs_key, delayed_key =
  KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local tick, worker, grace_ms = tonumber(ARGV[1]), ARGV[2], tonumber(ARGV[3])
-- Returns 'released', 'lost' or 'kept' (it is not such an attempt).
local now = now_ms()
local rec = get_run(runs_key, tick)
local member = ARGV[4]
if not rec or rec.status ~= 'running' or rec.owner ~= worker then
  redis.call('SREM', worker_runs_key, member)
  return 'kept'
end
if (rec.attempt_started_ms or 0) > now - grace_ms then
  return 'kept'
end
redis.call('SREM', worker_runs_key, member)
end_attempt(rec, now, 'released')
if rec.mode == 'inline' and not rec.progress then
  end_run(runs_key, active_key, stream_key, rec, now, 'lost',
    'Redis lost what became of it (its outcome or its start); it may have run')
  return 'lost'
end
drop_entry(stream_key, rec.entry)
rec.status = 'queued'
rec.owner = ''
rec.entry = ''
rec.deliverable_ms = now
redis.call('ZADD', delayed_key, now, member)
put_run(runs_key, rec)
return 'released'
