--[[
  refund_budget: gives back to a cost budget the part of a charge that was not used (for a
  query: requestedQueryCost - actualQueryCost), after execution (CostBudget.refund), on Redis
  time. Includes rl_refund (budget.lua) and now_ms().

  KEYS[1]  budget            hash: available (points), updatedAt (ms)

  ARGV[1]  points            points to give back (> 0)
  ARGV[2]  maximum           points of a full budget
  ARGV[3]  restorePerSecond  points restored per second

  Returns  available, whole points after the refund (rounded down)

  Atomicity: one script; it refills and refunds in one step, so a refund can never push the
  budget above its maximum, whatever takes run beside it.
]]
return math.floor(rl_refund(KEYS[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[1]), now_ms()))
