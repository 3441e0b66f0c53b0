--[[
  @onceql/ratelimit gcra: the request rate limit, a building block for scripts (the limiter's own
  consume.lua, or an app's admit script that composes it with its own checks in one round trip).
  Needs now_ms() (@onceql/redis-script CLOCK_LUA) only through its caller's nowMs.

  rl_gcra(key, ratePerSecond, burst, cost, nowMs, charge)
    GCRA (generic cell rate algorithm) on Redis time. State: the string at `key` holds the
    theoretical arrival time (TAT) in whole microseconds since the epoch. Integers only: the
    emission interval is 1e6 / ratePerSecond rounded up to a whole microsecond, so no rounding
    ever admits more than the rate (a rate that does not divide 1e6 is honoured a hair low).
    burst * interval must stay below 1e15 µs (about 31 years).
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
  local ceil, floor = math.ceil, math.floor
  local interval = ceil(1000000 / ratePerSecond)
  if burst < 1 then
    burst = 1
  end
  local capacity = burst * interval
  local nowUs = nowMs * 1000
  -- The key lives until a whole `window` after its TAT: it expires at (floor(TAT / window) + 2)
  -- windows, renewed only when the TAT moves into the next window, so most writes are one INCRBY
  -- (a SET with an expiry costs Redis about twice as much).
  local window = (ceil(capacity / 1000000) + 1) * 1000000
  local stored = tonumber(redis.call('GET', key))
  -- A TAT this code wrote is a whole number of µs, never a window in the past (the key would have
  -- expired); anything else (an older format) is overwritten.
  local written = stored ~= nil and stored >= nowUs - window
  local tat = nowUs
  if written and stored > nowUs then
    tat = stored
  end
  local newTat = tat + cost * interval
  if newTat - nowUs > capacity then
    local retryAfterMs = -1
    if cost * interval <= capacity then
      retryAfterMs = ceil((newTat - nowUs - capacity) / 1000)
    end
    return false, floor((capacity - (tat - nowUs)) / interval), ceil((tat - nowUs) / 1000), retryAfterMs
  end
  if charge and cost > 0 then
    -- Whole numbers below 2^53 throughout: exact in a Lua number, and redis.call sends numbers as
    -- %.17g, so no format call is needed.
    local epoch = floor(newTat / window)
    if written then
      redis.call('INCRBY', key, newTat - stored)
      if epoch ~= floor(stored / window) then
        redis.call('PEXPIREAT', key, (epoch + 2) * (window / 1000))
      end
    else
      redis.call('SET', key, newTat, 'PXAT', (epoch + 2) * (window / 1000))
    end
  else
    newTat = tat
  end
  return true, floor((capacity - (newTat - nowUs)) / interval), ceil((newTat - nowUs) / 1000), 0
end
