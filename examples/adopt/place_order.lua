--[[
  place_order: places one order, exactly once per idempotency key (the atomic path of
  @onceql/idempotency: `now_ms()` and the idempotency building blocks are put in front of it).

  KEYS[1]      the idempotency record (given by the package)
  KEYS[2]      orders    hash: order id -> the order as JSON
  KEYS[3]      sequence  string: the customer's last order number
  KEYS[#KEYS]  the record's name before v2 (given by the package)
  ARGV[1..4]   the key, fingerprint, mutation and retention (given by the package)
  ARGV[5]      item      what is ordered
  ARGV[6]      quantity  how many, a whole number from 1

  Returns {envelope}, the envelope holding {PLACED, id, createdAtMs, item, quantity}: the order as
  placed, recorded and replayed to every retry of the key.

  Atomicity: the look-up of the key, the write and the record are this one script.
]]
local replay = idem_begin()
if replay then
  return {replay}
end
local nowMs = now_ms()
local id = 'o' .. redis.call('INCR', KEYS[3])
local quantity = tonumber(ARGV[6])
redis.call('HSET', KEYS[2], id, cjson.encode({id = id, item = ARGV[5], quantity = quantity, createdAt = nowMs}))
return {idem_finish(nowMs, {PLACED, id, nowMs, ARGV[5], quantity}, '', id)}
