--[[
  create_account: open an account with a zero balance, on the atomic idempotency path
  (defineAtomicScript of @onceql/idempotency puts its lua/atomic.lua and now_ms() in front).

  KEYS[1]  idempotency record (see @onceql/idempotency lua/atomic.lua)
  KEYS[2]  sequence    string counter of the tenant's creation order (INCR)
  KEYS[3]  account     hash of the new account
  KEYS[4]  accounts    sorted set of the tenant's account ids, scored by sequence
  KEYS[5]  the idempotency record's name before v2 (see atomic.lua)

  ARGV[1..4]  idempotency key, fingerprint, mutation, retention ms (see atomic.lua)
  ARGV[5]  accountId             new random id (lower-case letters and digits)
  ARGV[6]  name                  display name, 1-200 characters (checked by the caller)
  ARGV[7]  currency              three upper-case letters (checked by the caller)
  ARGV[8]  allowNegativeBalance  "1" or "0"

  Returns {envelope}: the atomic envelope {idemStatus, ...} around (status constants from
  AccountScriptStatus in src/ledger/store.ts, defined in front of this file)
           {CREATED, accountId, createdAtMs, seq, name, currency, allowNegativeBalance}
                                             the account as created (a replay returns the
                                             recorded one, never rebuilt from the retry's input)
           {ID_TAKEN}                        an account with this id exists (a random-id collision;
                                             nothing is recorded, the caller draws a new id)

  Atomicity: the account hash, its index entry and the idempotency record are written together
  or not at all. createdAtMs is Redis server time, so every API instance shares one clock.
]]
local replay = idem_begin()
if replay then
  return {replay}
end

local sequenceKey = KEYS[2]
local accountKey = KEYS[3]
local accountsKey = KEYS[4]

local accountId = ARGV[5]
local name = ARGV[6]
local currency = ARGV[7]
local allowNegativeBalance = ARGV[8]

if redis.call('EXISTS', accountKey) == 1 then
  return {{IDEM_NONE, ID_TAKEN}}
end

local createdAtMs = now_ms()
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

return {idem_finish(createdAtMs, {CREATED, accountId, createdAtMs, seq, name, currency, allowNegativeBalance}, '', accountId)}
