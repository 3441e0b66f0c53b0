--[[
  load_account_page: one account and a page of the ids of its transfers, in one command.

  Used by the `account` query when its selection reads the account's `transfers`: both keys are
  known before the call (the account's hash and its index), so the account and its page cost one
  round trip instead of two. Both keys carry the tenant's hash tag: one slot.

  KEYS[1]  account      hash of the account (see create_account.lua)
  KEYS[2]  transfers    sorted set of the account's transfer ids, scored by sequence

  ARGV[1]  min          lowest score of the page, as ZRANGEBYSCORE takes it: "-inf", or "(<seq>"
                        for the transfers after the one of sequence <seq> (the cursor)
  ARGV[2]  count        most ids to return (the page size plus one, to tell whether more follow)

  Returns {account, ids}: account, the account's hash as HGETALL pairs (an empty array when the
  account does not exist); ids, ZRANGEBYSCORE min +inf WITHSCORES LIMIT 0 count, the flat
  {id, seq, ...} (an empty array when the account does not exist: no page is read for it).

  Atomicity: read-only; the account and its page are read at one instant: every transfer the page
  lists is counted in the balance read with it.
]]
local account = redis.call('HGETALL', KEYS[1])
if #account == 0 then
  return {account, {}}
end
return {account, redis.call('ZRANGEBYSCORE', KEYS[2], ARGV[1], '+inf', 'WITHSCORES', 'LIMIT', 0, ARGV[2])}
