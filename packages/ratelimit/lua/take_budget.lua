--[[
  take_budget: take `cost` points from a cost budget (CostBudget.take), on Redis time. Includes
  rl_budget (budget.lua) and now_ms().

  KEYS[1]  budget            hash: available (points), updatedAt (ms)

  ARGV[1]  cost              points to take (0: only look)
  ARGV[2]  maximum           points of a full budget
  ARGV[3]  restorePerSecond  points restored per second

  Returns  {status, available, retryAfterMs}
    status        ALLOWED (taken) or THROTTLED (nothing written)
    available     whole points left after this call (rounded down)
    retryAfterMs  when throttled: until the cost fits (ms); 0 when allowed

  Atomicity: refill, decide and take in one script: concurrent takes cannot overdraw the budget.
]]
local allowed, available, retryAfterMs = rl_budget(KEYS[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[1]), now_ms(), true)
if allowed then
  return {ALLOWED, math.floor(available), 0}
end
return {THROTTLED, math.floor(available), retryAfterMs}
