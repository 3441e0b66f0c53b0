--[[
  create_transfer: move an amount from one account to another of the same currency, on the
  atomic idempotency path (defineAtomicScript of @onceql/idempotency puts its lua/atomic.lua and
  now_ms() in front).

  KEYS[1]  idempotency record (see @onceql/idempotency lua/atomic.lua)
  KEYS[2]  fromAccount        hash of the account debited
  KEYS[3]  toAccount          hash of the account credited
  KEYS[4]  transfer           hash of the new transfer: f (from id), t (to id), a (amount),
                              c (currency), ts (created at, ms), s (sequence), r (reference, if any)
  KEYS[5]  transfers          sorted set of all the tenant's transfer ids, scored by sequence
  KEYS[6]  fromTransfers      sorted set of the debited account's transfer ids, scored by sequence
  KEYS[7]  toTransfers        sorted set of the credited account's transfer ids, scored by sequence
  KEYS[8]  sequence           string counter of the tenant's creation order (INCR)
  KEYS[9]  the idempotency record's name before v2 (see atomic.lua)

  ARGV[1..4]  idempotency key, fingerprint, mutation, retention ms (see atomic.lua)
  ARGV[5]   transferId   new random id (lower-case letters and digits)
  ARGV[6]   fromId       id of the debited account (stored on the transfer)
  ARGV[7]   toId         id of the credited account (stored on the transfer)
  ARGV[8]   amount       integer minor units, decimal string, 1 .. 2^53-1 (checked by the caller)
  ARGV[9]   currency     three upper-case letters
  ARGV[10]  reference    free text, or "" with ARGV[11] = "0" for none
  ARGV[11]  hasReference "1" or "0"

  Returns {envelope, fromAccount, toAccount}: the atomic envelope {idemStatus, ...} around
  (status constants from TransferScriptStatus in src/ledger/store.ts, defined in front of this file)
           {APPLIED, transferId, createdAtMs, seq, fromId, toId, amount, currency, hasReference, reference}
                 the transfer as stored (a replay returns the recorded one, so what a retry
                 sees is the stored transfer, never rebuilt from the retry's input)
           {FROM_NOT_FOUND}     the debited account does not exist    (recorded: NOT_FOUND)
           {TO_NOT_FOUND}       the credited account does not exist   (recorded: NOT_FOUND)
           {CURRENCY_MISMATCH}  currency differs from either account  (recorded: CURRENCY_MISMATCH)
           {INSUFFICIENT_FUNDS} the debit would take a non-negative account below zero (recorded)
           {BALANCE_LIMIT}      a balance would leave -(2^53-1) .. 2^53-1 (recorded: BALANCE_LIMIT_EXCEEDED)
           {ID_TAKEN}           a transfer with this id exists (a random-id collision; nothing is recorded)
  On a replay the envelope holds the recorded reply, refusals included.
  fromAccount, toAccount: when the transfer applied (executed now or replayed), both accounts'
  hashes as HGETALL pairs as they are at the end of this script: after this transfer, or, on a
  replay, now. They prime the request's loaders, so nested balances cost no round trip and are
  never older than the transfer. Absent otherwise.

  Atomicity: the idempotency look-up, the checks, the debit, the credit, the transfer record, its
  three index entries and the idempotency record happen all-or-nothing; concurrent transfers on
  the same accounts, and concurrent duplicates of one key, are serialized by Redis. Balances are
  64-bit integers changed with HINCRBY; the checks compare Lua doubles, which hold every integer up
  to 2^53 exactly.
]]
local fromKey = KEYS[2]
local toKey = KEYS[3]

-- Adds both accounts' rows to an applied outcome (see the header).
local function with_accounts(envelope)
  if envelope[2] == APPLIED then
    return {envelope, redis.call('HGETALL', fromKey), redis.call('HGETALL', toKey)}
  end
  return {envelope}
end

local replay = idem_begin()
if replay then
  return with_accounts(replay)
end

local transferKey = KEYS[4]
local transfersKey = KEYS[5]
local fromTransfersKey = KEYS[6]
local toTransfersKey = KEYS[7]
local sequenceKey = KEYS[8]

local transferId = ARGV[5]
local fromId = ARGV[6]
local toId = ARGV[7]
local amountText = ARGV[8]
local currency = ARGV[9]
local reference = ARGV[10]
local hasReference = ARGV[11]

local MAX_BALANCE = 9007199254740991
local nowMs = now_ms()

local function refuse(status, errorCode)
  return {idem_finish(nowMs, {status}, errorCode, '')}
end

local from = redis.call('HMGET', fromKey, 'currency', 'balance', 'allowNegativeBalance')
if not from[1] then
  return refuse(FROM_NOT_FOUND, 'NOT_FOUND')
end
local to = redis.call('HMGET', toKey, 'currency', 'balance')
if not to[1] then
  return refuse(TO_NOT_FOUND, 'NOT_FOUND')
end
if from[1] ~= currency or to[1] ~= currency then
  return refuse(CURRENCY_MISMATCH, 'CURRENCY_MISMATCH')
end
if redis.call('EXISTS', transferKey) == 1 then
  return {{IDEM_NONE, ID_TAKEN}}
end

local amount = tonumber(amountText)
local fromAfter = tonumber(from[2]) - amount
local toAfter = tonumber(to[2]) + amount
if fromAfter < 0 and from[3] ~= '1' then
  return refuse(INSUFFICIENT_FUNDS, 'INSUFFICIENT_FUNDS')
end
if fromAfter < -MAX_BALANCE or toAfter > MAX_BALANCE then
  return refuse(BALANCE_LIMIT, 'BALANCE_LIMIT_EXCEEDED')
end

local seq = redis.call('INCR', sequenceKey)
redis.call('HINCRBY', fromKey, 'balance', '-' .. amountText)
redis.call('HINCRBY', toKey, 'balance', amountText)

-- Row format 2: short field names, no copy of the id (it is in the key name). Rows written
-- before it (id, from, to, amount, currency, createdAt, seq, reference) are still read as they are.
if hasReference == '1' then
  redis.call('HSET', transferKey, 'f', fromId, 't', toId, 'a', amountText, 'c', currency, 'ts', nowMs, 's', seq, 'r', reference)
else
  redis.call('HSET', transferKey, 'f', fromId, 't', toId, 'a', amountText, 'c', currency, 'ts', nowMs, 's', seq)
end
redis.call('ZADD', transfersKey, seq, transferId)
redis.call('ZADD', fromTransfersKey, seq, transferId)
redis.call('ZADD', toTransfersKey, seq, transferId)

return with_accounts(idem_finish(nowMs, {APPLIED, transferId, nowMs, seq, fromId, toId, amountText, currency, hasReference, reference}, '', transferId))
