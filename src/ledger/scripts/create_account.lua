--[[
  create_account: open an account with a zero balance.

  KEYS[1]  sequence    string counter of the tenant's creation order (INCR)
  KEYS[2]  account     hash of the new account
  KEYS[3]  accounts    sorted set of the tenant's account ids, scored by sequence

  ARGV[1]  accountId             new random id (lower-case letters and digits)
  ARGV[2]  name                  display name, 1-200 characters (checked by the caller)
  ARGV[3]  currency              ISO-4217 style code, three upper-case letters (checked by the caller)
  ARGV[4]  allowNegativeBalance  "1" or "0"

  Returns  {1, createdAtMs, seq}  created
           {2}                    an account with this id exists already (a random-id collision)

  Atomicity: the account hash and its index entry are written together or not at all.
  createdAtMs is Redis server time, so every API instance shares one clock.
]]
local sequenceKey = KEYS[1]
local accountKey = KEYS[2]
local accountsKey = KEYS[3]

local accountId = ARGV[1]
local name = ARGV[2]
local currency = ARGV[3]
local allowNegativeBalance = ARGV[4]

if redis.call('EXISTS', accountKey) == 1 then
  return {2}
end

local now = redis.call('TIME')
local createdAtMs = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local seq = redis.call('INCR', sequenceKey)

redis.call('HSET', accountKey,
  'id', accountId,
  'name', name,
  'currency', currency,
  'balance', '0',
  'allowNegativeBalance', allowNegativeBalance,
  'createdAt', createdAtMs,
  'seq', seq)
redis.call('ZADD', accountsKey, seq, accountId)

return {1, createdAtMs, seq}
