-- include: audit
-- Remove every key of a schedule that is no longer in the code. Refused while a clock
-- publishes it (it would come back, its marks gone) or a run of it has not ended.
local schedules_key, hwm_key, next_key, paused_key, runs_key, ticks_key, active_key,
  outages_key, stats_key, audit_key =
  KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8], KEYS[9], KEYS[10]
local schedule, actor, source, reason = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
-- Returns {'forgotten', records removed}, {'published'} or {'running', runs not ended}
if redis.call('HEXISTS', schedules_key, schedule) == 1 then
  return {'published'}
end
local running = redis.call('ZCARD', active_key)
if running > 0 then
  return {'running', running}
end
local records = redis.call('HLEN', runs_key)
redis.call('DEL', runs_key, ticks_key, active_key, outages_key, stats_key)
redis.call('HDEL', hwm_key, schedule)
redis.call('HDEL', next_key, schedule)
redis.call('HDEL', paused_key, schedule)
audit(audit_key, 'forget', schedule, {actor = actor, source = source, reason = reason,
  detail = records .. ' records'}, now_ms())
return {'forgotten', records}
