--[[
  @onceql/ratelimit gcra: the request rate limit, a building block for scripts (the limiter's own
  consume.lua, or an app's admit script that composes it with its own checks in one round trip).
  Needs now_ms() (@onceql/redis-script CLOCK_LUA) only through its caller's nowMs.

  rl_gcra(key, ratePerSecond, burst, cost, nowMs, charge)
    GCRA (generic cell rate algorithm) on Redis time. State: the string at `key` holds the
    theoretical arrival time (TAT) in whole microseconds since the epoch. Integers only: the
    emission interval is 1e6 / ratePerSecond rounded up to a whole microsecond, so no rounding
    ever admits more than the rate (a rate that does not divide 1e6 is honoured a hair low).
    A request of `cost` units (1 for one request) is admitted when
      max(TAT, now) + cost * interval - now <= burst * interval
    so at most `burst` units pass at once and, over any interval of T seconds, at most
    ratePerSecond * T + burst units are admitted: exact, no window boundaries. A burst below 1
    counts as 1. With charge = false nothing is written (a look: would it be admitted?).
    Returns allowed (bool),
            remaining     units admissible right now after this request (0 when refused),
            resetMs       until the bucket is full again (ms, rounded up),
            retryAfterMs  when refused: until this cost fits (ms, rounded up); 0 when admitted.
            A cost above burst never fits: refused with retryAfterMs -1.
]]
local function rl_gcra(key, ratePerSecond, burst, cost, nowMs, charge)
  local interval = math.ceil(1000000 / ratePerSecond)
  local capacity = math.max(1, burst) * interval
  local nowUs = nowMs * 1000
  local tat = tonumber(redis.call('GET', key)) or nowUs
  if tat < nowUs then
    tat = nowUs
  end
  local newTat = tat + cost * interval
  if newTat - nowUs > capacity then
    local retryAfterMs = -1
    if cost * interval <= capacity then
      retryAfterMs = math.ceil((newTat - nowUs - capacity) / 1000)
    end
    return false, math.floor((capacity - (tat - nowUs)) / interval), math.ceil((tat - nowUs) / 1000), retryAfterMs
  end
  if charge and cost > 0 then
    redis.call('SET', key, string.format('%.0f', newTat), 'PX', math.ceil((newTat - nowUs) / 1000) + 1)
  else
    newTat = tat
  end
  return true, math.floor((capacity - (newTat - nowUs)) / interval), math.ceil((newTat - nowUs) / 1000), 0
end
