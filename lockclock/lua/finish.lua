-- Record a run's outcome. Only the dispatcher of that run (same fence) may write it,
-- and only once: a zombie or a retried call cannot overwrite an outcome.
-- KEYS: runs hash
-- ARGV: tick ms, fence, JSON object of fields to merge (must hold 'status')
-- Returns 'ok', 'gone' (trimmed from history), 'fenced' (another fence owns the tick)
--   or 'final' (an outcome is already recorded).
local field = string.format('%d', tonumber(ARGV[1]))
local existing = redis.call('HGET', KEYS[1], field)
if not existing then
  return 'gone'
end
local rec = cjson.decode(existing)
if rec.fence ~= tonumber(ARGV[2]) then
  return 'fenced'
end
local patch = cjson.decode(ARGV[3])
if rec.status ~= 'running' then
  if rec.status == patch.status then return 'ok' end
  return 'final'
end
local t = redis.call('TIME')
rec.finished_ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
for k, v in pairs(patch) do rec[k] = v end
redis.call('HSET', KEYS[1], field, cjson.encode(rec))
return 'ok'
