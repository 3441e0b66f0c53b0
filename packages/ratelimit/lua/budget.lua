--[[
  @onceql/ratelimit budget: a cost budget (points that restore over time), building blocks for
  scripts (the package's take/refund scripts, or an app's admit script). Both work on the
  caller's nowMs (Redis time: now_ms() of @onceql/redis-script CLOCK_LUA).

  rl_budget(key, maximum, restorePerSecond, cost, nowMs, charge)
    A bucket of `maximum` points refilling at `restorePerSecond`. State: a hash at `key` with
    `available` (points) and `updatedAt` (ms). A request is admitted when its cost fits what is
    available now; then the cost is taken. With charge = false nothing is written.
    Returns allowed (bool), available (points after this request), retryAfterMs (when refused:
    until the cost fits, ms rounded up; -1 when it never can, cost above maximum; 0 admitted).

  rl_refund(key, maximum, restorePerSecond, points, nowMs)
    Gives back `points` of the budget at `key` (the part of a charged estimate that a query did
    not use), never above `maximum`. Returns available (points after the refund).
]]
local function rl_budget(key, maximum, restorePerSecond, cost, nowMs, charge)
  local state = redis.call('HMGET', key, 'available', 'updatedAt')
  local available = tonumber(state[1]) or maximum
  local updatedAt = tonumber(state[2]) or nowMs
  available = math.min(maximum, available + (nowMs - updatedAt) * restorePerSecond / 1000)
  if cost > available then
    if cost > maximum then
      return false, available, -1
    end
    return false, available, math.ceil((cost - available) * 1000 / restorePerSecond)
  end
  if charge and cost > 0 then
    available = available - cost
    redis.call('HSET', key, 'available', available, 'updatedAt', nowMs)
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
  redis.call('HSET', key, 'available', available, 'updatedAt', nowMs)
  redis.call('PEXPIRE', key, math.ceil((maximum - available) * 1000 / restorePerSecond) + 1000)
  return available
end
