-- include: runs
-- Record how an attempt ended. Only the current attempt's owner (same fence, same
-- worker) may write it, and only once: a zombie or a retried call cannot overwrite an
-- outcome. The entry is acknowledged and deleted here, in the same step. An error with
-- retries left is not final: the run waits in {ns}:delayed for its next attempt.
local runs_key, active_key, stream_key, worker_runs_key, delayed_key =
  KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local tick, fence, worker, patch = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3],
  cjson.decode(ARGV[4])
-- patch: fields to merge, with 'status' ('ok' | 'error' | 'interrupted' | 'timed_out' |
-- 'cancelled'); 'hold_active' keeps an ended inline run in the active set (unblock.lua)
-- Returns {'ok'} or {'ok', next tick, fence, attempt, clock, epoch, now} when this inline worker
--   is to run the waiting successor it just started; {'retry'} (an error with retries
--   left), {'gone'} (trimmed from history), {'fenced'} (another attempt owns the run) or
--   {'final'} (an outcome is recorded already).
local rec = get_run(runs_key, tick)
if not rec then
  return {'gone'}
end
if rec.fence ~= fence or (rec.owner and rec.owner ~= '' and rec.owner ~= worker) then
  return {'fenced'}
end
if rec.status ~= 'running' then
  if rec.status == patch.status then return {'ok'} end
  if patch.status == 'error' and rec.status == 'queued' and rec.last_error then
    return {'retry'}
  end
  return {'final'}
end
local now = now_ms()
local member = rec.schedule .. '\t' .. string.format('%d', tick)
redis.call('SREM', worker_runs_key, member)
end_attempt(rec, now, patch.status, patch.error)
if patch.status == 'error' and (rec.retried or 0) < (rec.retries or 0) then
  drop_entry(stream_key, rec.entry)
  rec.retried = (rec.retried or 0) + 1
  local delay = (rec.retry_backoff_ms or 10000) * (2 ^ (rec.retried - 1))
  if delay > 600000 then delay = 600000 end
  rec.status = 'queued'
  rec.owner = ''
  rec.entry = ''
  rec.last_error = patch.error
  rec.deliverable_ms = now + delay
  redis.call('ZADD', delayed_key, now + delay, member)
  put_run(runs_key, rec)
  return {'retry'}
end
local hold = patch.hold_active
patch.hold_active = nil
for k, v in pairs(patch) do rec[k] = v end
rec.stop = nil
if hold then
  -- timed out inline: ended, but it counts as running until its thread ends (unblock.lua)
  rec.owner = ''
  rec.held_by = worker
  rec.finished_ms = now
  put_run(runs_key, rec)
  count_outcome(runs_key, rec, rec.status, now)
  return {'ok'}
end
local nxt = end_run(runs_key, active_key, stream_key, rec, now, patch.status, patch.error,
  worker, worker_runs_key)
if nxt then
  return {'ok', nxt.tick, nxt.fence, nxt.attempt, nxt.clock, nxt.epoch, now,
    nxt.for_tick or '', nxt.trigger or 'tick'}
end
return {'ok'}
