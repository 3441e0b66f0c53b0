--[[
  ratelimit/limits: building blocks for an admit script (included in front of it by the registry).
  Both work on Redis time, so every API instance shares one clock and one state.

  rl_gcra(key, ratePerSecond, burst, nowMs, charge)
    Request rate limit by GCRA (generic cell rate algorithm). State: the string at `key` holds the
    theoretical arrival time (TAT, ms). One request is admitted when TAT - now <= tolerance, where
    tolerance = max(0, burst - 1) * interval and interval = 1000 / ratePerSecond ms; so over any
    interval of T seconds at most ratePerSecond * T + burst requests are admitted (exact, no
    window boundaries). With charge = false nothing is written (a look only).
    Returns allowed (bool), remaining (requests admissible right now after this one),
            resetMs (until the bucket is full again), retryAfterMs (when refused: until one fits).

  rl_budget(key, maximum, restorePerSecond, cost, nowMs, charge)
    Query-cost budget: a bucket of `maximum` points refilling at `restorePerSecond`. State: a hash
    at `key` with `available` (points) and `updatedAt` (ms). A request is admitted when its cost
    fits what is available now; then the cost is taken. With charge = false nothing is written.
    Returns allowed (bool), available (points after this request), retryAfterMs (when refused).

  rl_refund(key, maximum, restorePerSecond, points, nowMs)
    Gives back `points` of the budget at `key` (the part of a charged estimate that the query did
    not use), never above `maximum`. Returns available (points after the refund).
]]
local function rl_gcra(key, ratePerSecond, burst, nowMs, charge)
  local interval = 1000 / ratePerSecond
  local tolerance = math.max(0, burst - 1) * interval
  local tat = tonumber(redis.call('GET', key)) or nowMs
  if tat < nowMs then
    tat = nowMs
  end
  if tat - nowMs > tolerance then
    local retryAfterMs = tat - nowMs - tolerance
    return false, 0, math.ceil(tat - nowMs), math.ceil(retryAfterMs)
  end
  local newTat = tat + interval
  if charge then
    redis.call('SET', key, string.format('%.3f', newTat), 'PX', math.ceil(newTat - nowMs) + 1000)
  else
    newTat = tat
  end
  local remaining = math.floor((tolerance - (newTat - nowMs)) / interval) + 1
  if remaining < 0 then
    remaining = 0
  end
  return true, remaining, math.ceil(newTat - nowMs), 0
end

local function rl_budget(key, maximum, restorePerSecond, cost, nowMs, charge)
  local state = redis.call('HMGET', key, 'available', 'updatedAt')
  local available = tonumber(state[1]) or maximum
  local updatedAt = tonumber(state[2]) or nowMs
  available = math.min(maximum, available + (nowMs - updatedAt) * restorePerSecond / 1000)
  if cost > available then
    return false, available, math.ceil((cost - available) * 1000 / restorePerSecond)
  end
  if charge and cost > 0 then
    available = available - cost
    redis.call('HSET', key, 'available', string.format('%.3f', available), 'updatedAt', nowMs)
    redis.call('PEXPIRE', key, math.ceil((maximum - available) * 1000 / restorePerSecond) + 1000)
  end
  return true, available, 0
end

local function rl_refund(key, maximum, restorePerSecond, points, nowMs)
  local state = redis.call('HMGET', key, 'available', 'updatedAt')
  local available = tonumber(state[1])
  if available == nil then
    -- No state: the budget is full (it expired after refilling), nothing to give back.
    return maximum
  end
  local updatedAt = tonumber(state[2]) or nowMs
  available = math.min(maximum, available + (nowMs - updatedAt) * restorePerSecond / 1000 + points)
  redis.call('HSET', key, 'available', string.format('%.3f', available), 'updatedAt', nowMs)
  redis.call('PEXPIRE', key, math.ceil((maximum - available) * 1000 / restorePerSecond) + 1000)
  return available
end
