--[[
  consume: one decision of the standalone limiter (RateLimiter.consume): take `cost` units from
  the GCRA bucket at KEYS[1], on Redis time. Includes rl_gcra (gcra.lua) and now_ms().

  KEYS[1]  bucket         string: the key's theoretical arrival time (µs since the epoch)

  ARGV[1]  ratePerSecond  units restored per second
  ARGV[2]  burst          units admissible at once (at least 1)
  ARGV[3]  cost           units this decision takes (1 for one request)

  Returns  {status, remaining, resetMs, retryAfterMs}
    status        ALLOWED (charged) or LIMITED (nothing written)
    remaining     units admissible right now after this decision
    resetMs       until the bucket is full again (ms)
    retryAfterMs  when limited: until this cost fits (ms); 0 when allowed

  Atomicity: read, decide and write in one script: concurrent decisions of every process are
  serialized, so the bucket can never be overdrawn.
]]
local allowed, remaining, resetMs, retryAfterMs = rl_gcra(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), now_ms(), true)
if allowed then
  return {ALLOWED, remaining, resetMs, 0}
end
return {LIMITED, remaining, resetMs, retryAfterMs}
