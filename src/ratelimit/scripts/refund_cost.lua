--[[
  refund_cost: gives back to a tenant's query-cost budget the part of a query's estimate that it
  did not use (requestedQueryCost - actualQueryCost), after execution. Uses rl_refund of
  ratelimit/scripts/limits.lua (included in front of this script), on Redis time.

  KEYS[1]  tenantCost        hash: the tenant's query-cost budget (available, updatedAt)

  ARGV[1]  points            points to give back (> 0)
  ARGV[2]  costBudget        maximum points of the budget
  ARGV[3]  costRestore       points restored per second

  Returns  available, points after the refund (a whole number, rounded down)

  Atomicity: one script; it refills and refunds in one step, so a refund can never push the
  budget above its maximum, whatever admits run beside it.
]]
local tenantCostKey = KEYS[1]

local points = tonumber(ARGV[1])
local costBudget = tonumber(ARGV[2])
local costRestore = tonumber(ARGV[3])

local now = redis.call('TIME')
local nowMs = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)

return math.floor(rl_refund(tenantCostKey, costBudget, costRestore, points, nowMs))
