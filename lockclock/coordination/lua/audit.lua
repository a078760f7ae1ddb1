-- Shared by the operators' scripts: each action is appended to {ns}:audit in the same
-- step as the change it made, so the log never disagrees with what happened.
-- Bounded: the stream keeps about the last 10,000 actions (approximate trimming).
local AUDIT_MAXLEN = 10000

local function audit(audit_key, action, target, fields, now)
  local args = {'XADD', audit_key, 'MAXLEN', '~', AUDIT_MAXLEN, '*', 'action', action,
    'target', target, 'ms', string.format('%d', now)}
  for _, name in ipairs({'actor', 'source', 'reason', 'detail'}) do
    if fields[name] and fields[name] ~= '' then
      args[#args + 1] = name
      args[#args + 1] = tostring(fields[name])
    end
  end
  return redis.call(unpack(args))
end

-- An instant at or after `now` that is not a whole second and keys no record yet: where
-- what is not a tick (a manual run, a pause's span) is recorded. Ticks are whole seconds.
local function off_grid_key(runs_key, now)
  local key = now
  while key % 1000 == 0 or redis.call('HEXISTS', runs_key, string.format('%d', key)) == 1 do
    key = key + 1
  end
  return key
end
