--[[
  record_auth_failure: count one failed authentication of a client address against its allowance,
  with GCRA (generic cell rate algorithm) on Redis time, shared by every API instance. Apart from
  every tenant's quota: the key is the address's own, an IPv4 address or an IPv6 /64 (one
  subscriber usually holds a whole /64; counting its addresses apart would let it rotate past).

  KEYS[1]  throttle  string: the address's theoretical arrival time (TAT), ms since the epoch

  ARGV[1]  failuresPerMinute  allowance; up to this many failures may come at once, then one per
                              60000 / failuresPerMinute ms

  Returns  {COUNTED, 0}              counted, still allowed (answer 401)
           {THROTTLED, retryAfterMs}  over the allowance: not counted (answer 429)
  (status codes: constants of AUTH_FAILURE_STATUS in src/auth/scripts.ts; now_ms() from
  @onceql/redis-script CLOCK_LUA, included in front)

  Atomicity: read, decide and write in one script; concurrent failures cannot both take the last slot.
]]
local throttleKey = KEYS[1]
local limit = tonumber(ARGV[1])
local windowMs = 60000
local intervalMs = windowMs / limit

local nowMs = now_ms()
local tat = tonumber(redis.call('GET', throttleKey)) or nowMs
if tat < nowMs then
  tat = nowMs
end
local newTat = tat + intervalMs
if newTat - nowMs > windowMs then
  return {THROTTLED, math.ceil(newTat - nowMs - windowMs)}
end
redis.call('SET', throttleKey, newTat, 'PX', math.ceil(newTat - nowMs))
return {COUNTED, 0}
