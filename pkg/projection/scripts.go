package projection

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"
)

// The scripts only touch keys of one partner slot (or one global key) and
// get every key they touch in KEYS; keys built in Lua from a prefix are
// also passed in KEYS by the caller, which read the stored state first.
// A script that finds a different stored state than the caller declared
// keys for answers "retry", so it never touches an undeclared key.

const luaHelpers = `
-- Count changes are gathered per counts HASH and written by flushCounts
-- at the end of a script, one HINCRBY per count that changed: a revision
-- that keeps a count writes nothing to it, and a batch of events writes
-- each count once.
local changes, hashes = {}, {}
local function bump(h, field, by)
  local c = changes[h]
  if c == nil then
    c = {order = {}, by = {}}
    changes[h] = c
    hashes[#hashes + 1] = h
  end
  local v = c.by[field]
  if v == nil then
    c.order[#c.order + 1] = field
    v = 0
  end
  c.by[field] = v + by
end
local function flushCounts()
  for _, h in ipairs(hashes) do
    local c = changes[h]
    for _, f in ipairs(c.order) do
      local by = c.by[f]
      if by ~= 0 then
        local n = redis.call('HINCRBY', h, f, by)
        if n <= 0 then redis.call('HDEL', h, f) end
      end
    end
  end
end
-- keepBody keeps a version of an agreement that is not (or no longer)
-- its current one in the record HASH as "b:<event sequence>" = "<order
-- key>:<bytes>", where the revision history reads it; the current version's
-- bytes are "pb". A later enrichment of the same event replaces the field,
-- an earlier one does not. ENR is 2^enrichmentVersionBits (version.go).
local ENR = 1024
local function keepBody(doc, order, pb)
  local field = 'b:' .. string.format('%d', math.floor(tonumber(order) / ENR))
  local had = redis.call('HGET', doc, field)
  if had then
    local k = tonumber(string.match(had, '^(%d+):'))
    if k and k >= tonumber(order) then return end
  end
  redis.call('HSET', doc, field, order .. ':' .. pb)
end
-- supersede keeps the stored version (order key cur, bytes pb) before the
-- event with order key order replaces it, unless both are enrichments of
-- the same event.
local function supersede(doc, cur, pb, order)
  if cur and pb and math.floor(tonumber(cur) / ENR) ~= math.floor(tonumber(order) / ENR) then
    keepBody(doc, cur, pb)
  end
end
-- retire takes the current version out of a record HASH, keeping its
-- bytes for the history, the revision and the kept versions.
local function retire(doc)
  local c = redis.call('HMGET', doc, 'seq', 'pb')
  if c[1] and c[2] then keepBody(doc, c[1], c[2]) end
  redis.call('HDEL', doc, 'pb', 'event', 'seq', 'score', 'year', 'domains', 'dims', 'tomb')
end
local function agrRemove(counts, bydate, dprefix, id, domains, year, dims)
  redis.call('ZREM', bydate, id)
  for d in string.gmatch(dims or '', '[^,]+') do bump(counts, d .. '|' .. year, -1) end
  if domains == '' then bump(counts, 'none|' .. year, -1) end
  for d in string.gmatch(domains, '[^,]+') do
    redis.call('ZREM', dprefix .. d, id)
    bump(counts, d .. '|' .. year, -1)
  end
  bump(counts, 'all|' .. year, -1)
end
`

// luaFigureIndexes defines figs(series): the figure index of a series
// key's flow among a partner's figure indexes, which the caller passes as
// KEYS[first...] in the order of Keys.TradeFigureIndexes. Declaring every
// index lets a script move a figure between flows without reading its
// stored version first.
func luaFigureIndexes(first int) string {
	var b strings.Builder
	b.WriteString("local FIGS = {}\n")
	for i, name := range flowIndexes {
		fmt.Fprintf(&b, "FIGS[%q] = KEYS[%d]\n", name, first+i)
	}
	b.WriteString(`local function figs(series)
  return FIGS[string.match(series, '^[^|]*|[^|]*|([^|]*)|')] or FIGS['` + otherFlows + `']
end
`)
	return b.String()
}

// applyAgreementsScript applies agreement events: one (the per-event
// path) or several (a batch, no record twice) of one partner or, where
// the keys of several partners may meet in one script (not on Redis
// Cluster), of several. For each event: an event id already in its
// partner's applied set changes nothing (duplicate); a stored version or
// retraction tombstone ("tomb" = its sequence) at least the event's makes
// it stale (marked applied, its bytes kept for the history), so an older
// version never overwrites a newer one or resurrects a retracted record; a
// stored state other than the caller declared keys for answers retry;
// otherwise the previous version is replaced atomically with revision =
// max(previous, the revision under a previous partner) + 1. The index
// entries, applied marks and counts of all the events are written together
// at the end, per partner (one ZADD per index, one SADD, one HINCRBY per
// count), which is where a batch saves most of its Redis calls.
// KEYS: for each partner, its bydate, counts and applied; then the doc of
// each event in ARGV order; then every domain key of the stored and the new
// versions.
// ARGV: the number of partners, each partner's domain key prefix, then for
// each event: its partner's position (1-based), event id, sequence,
// protobuf bytes (updated_at appended, revision to append; see wire.go),
// date score, year, domains csv, agreement id, domains csv the caller saw
// stored, dimensions csv (counted per year next to the domains:
// "lvl|state,st|signed"), revision of the version removed from the
// previous partner (0).
// Returns, per event, {status, exists, score, domains, revision} of the
// stored version afterwards; status is applied, duplicate, stale or retry.
var applyAgreementsScript = redis.NewScript(luaHelpers + luaRevision +
	"local W = " + strconv.Itoa(agreementArgs) + " -- ARGV per event\n" + `
local np = tonumber(ARGV[1])
local n = (#ARGV - 1 - np) / W
local parts = {}
for j = 1, np do
  parts[j] = {bydate = KEYS[3 * j - 2], counts = KEYS[3 * j - 1], applied = KEYS[3 * j],
    dprefix = ARGV[1 + j], evs = {}, at = {}, marks = {}, dated = {}, byDomain = {}}
end
for i = 1, n do
  local a = 1 + np + (i - 1) * W
  local p = parts[tonumber(ARGV[a + 1])]
  p.evs[#p.evs + 1] = ARGV[a + 2]
  p.at[#p.at + 1] = i
end
-- A partner's only event (the per-event path, and most partners of a
-- batch spread over many) is checked and marked by one SADD (taken back on
-- retry) instead of two calls.
local seen = {}
for _, p in ipairs(parts) do
  if #p.evs == 1 then
    p.one = true
    seen[p.at[1]] = 1 - redis.call('SADD', p.applied, p.evs[1])
  elseif #p.evs > 1 then
    local s = redis.call('SMISMEMBER', p.applied, unpack(p.evs))
    for k, i in ipairs(p.at) do seen[i] = s[k] end
  end
end
local out = {}
local function state(doc, status)
  local c = redis.call('HMGET', doc, 'score', 'domains', 'rev')
  if not c[1] then return {status, '0'} end
  return {status, '1', c[1], c[2] or '', c[3] or '0'}
end
for i = 1, n do
  local a = 1 + np + (i - 1) * W
  local p = parts[tonumber(ARGV[a + 1])]
  local ev, seq, score, year, domains, id, dims = ARGV[a + 2], ARGV[a + 3], ARGV[a + 5], ARGV[a + 6], ARGV[a + 7], ARGV[a + 8], ARGV[a + 10]
  local doc = KEYS[3 * np + i]
  if seen[i] == 1 then
    out[i] = state(doc, 'duplicate')
  else
    local cur = redis.call('HMGET', doc, 'seq', 'domains', 'year', 'rev', 'dims', 'tomb', 'pb')
    if (cur[1] and tonumber(cur[1]) >= tonumber(seq)) or (cur[6] and tonumber(cur[6]) >= tonumber(seq)) then
      if not (cur[1] and tonumber(cur[1]) == tonumber(seq)) then keepBody(doc, seq, ARGV[a + 4]) end
      p.marks[#p.marks + 1] = ev
      out[i] = state(doc, 'stale')
    elseif (cur[2] or '') ~= ARGV[a + 9] then
      if p.one then redis.call('SREM', p.applied, ev) end
      out[i] = {'retry'}
    else
      supersede(doc, cur[1], cur[7], seq)
      if cur[1] then
        agrRemove(p.counts, p.bydate, p.dprefix, id, cur[2] or '', cur[3] or '0', cur[5])
      else
        bump(p.counts, 'total', 1)
      end
      p.dated[#p.dated + 1] = score
      p.dated[#p.dated + 1] = id
      for d in string.gmatch(dims, '[^,]+') do bump(p.counts, d .. '|' .. year, 1) end
      if domains == '' then bump(p.counts, 'none|' .. year, 1) end
      for d in string.gmatch(domains, '[^,]+') do
        local z = p.byDomain[d]
        if not z then
          z = {}
          p.byDomain[d] = z
        end
        z[#z + 1] = score
        z[#z + 1] = id
        bump(p.counts, d .. '|' .. year, 1)
      end
      bump(p.counts, 'all|' .. year, 1)
      local rev = math.max(tonumber(cur[4]) or 0, tonumber(ARGV[a + 11])) + 1
      if cur[6] then redis.call('HDEL', doc, 'tomb') end
      redis.call('HSET', doc, 'pb', ARGV[a + 4] .. revisionField(rev), 'event', ev, 'seq', seq, 'rev', rev,
        'score', score, 'year', year, 'domains', domains, 'dims', dims)
      p.marks[#p.marks + 1] = ev
      out[i] = {'applied', '1', score, domains, tostring(rev)}
    end
  end
end
for _, p in ipairs(parts) do
  if #p.dated > 0 then redis.call('ZADD', p.bydate, unpack(p.dated)) end
  for d, z in pairs(p.byDomain) do redis.call('ZADD', p.dprefix .. d, unpack(z)) end
  if #p.marks > 0 and not p.one then redis.call('SADD', p.applied, unpack(p.marks)) end
end
flushCounts()
return out
`)

// removeAgreementScript removes an agreement from a partner slot it moved
// away from, but only if the stored version is older than the moving event.
// KEYS: doc, bydate, counts, then every domain key of the stored version.
// ARGV: sequence of the moving event, agreement id, domains csv the caller
// saw stored, domain key prefix.
// Returns {status, revision}: status absent, newer (the stored version is
// not older: the event is stale), removed or retry; revision is the stored
// one. Removing leaves a tombstone holding only the revision, so revisions
// keep counting when the record moves (even if the apply on the new partner
// runs on a later delivery); records without "seq" do not exist for readers.
var removeAgreementScript = redis.NewScript(luaHelpers + `
local doc, bydate, counts = KEYS[1], KEYS[2], KEYS[3]
local cur = redis.call('HMGET', doc, 'seq', 'domains', 'year', 'rev', 'dims', 'tomb')
if cur[6] and tonumber(cur[6]) >= tonumber(ARGV[1]) then return {'newer', cur[4] or '0'} end
if not cur[1] then return {'absent', cur[4] or '0'} end
if tonumber(cur[1]) >= tonumber(ARGV[1]) then return {'newer', cur[4] or '0'} end
if (cur[2] or '') ~= ARGV[3] then return {'retry', '0'} end
agrRemove(counts, bydate, ARGV[4], ARGV[2], cur[2] or '', cur[3] or '0', cur[5])
bump(counts, 'total', -1)
flushCounts()
retire(doc)
redis.call('HSET', doc, 'rev', cur[4] or '0')
return {'removed', cur[4] or '0'}
`)

// markStaleAgreementScript marks an agreement event stale in its own
// partner slot when the record lives under another partner with a newer
// version, keeping its bytes for the revision history.
// KEYS: applied, doc. ARGV: event id, sequence, protobuf bytes.
var markStaleAgreementScript = redis.NewScript(luaHelpers + `
redis.call('SADD', KEYS[1], ARGV[1])
keepBody(KEYS[2], ARGV[2], ARGV[3])
return 1
`)

// applyTradeScript applies one trade figure event in its partner slot:
// the guards of applyAgreementsScript, then the figure's member of the
// partner's figure index of its flow and its current version are replaced.
// KEYS: doc, current versions, applied, the figure indexes.
// ARGV: event id, sequence, protobuf bytes, series key, period score,
// updated (ns), figure id, revision of the version removed from the
// previous partner.
// Returns {status, exists, score, series, revision} like applyAgreementsScript.
var applyTradeScript = redis.NewScript(luaHelpers + luaFigureIndexes(4) + `
local doc, current, applied = KEYS[1], KEYS[2], KEYS[3]
local function state(status)
  local c = redis.call('HMGET', doc, 'score', 'series', 'rev')
  if not c[1] then return {status, '0'} end
  return {status, '1', c[1], c[2] or '', c[3] or '0'}
end
if redis.call('SADD', applied, ARGV[1]) == 0 then return state('duplicate') end
local cur = redis.call('HMGET', doc, 'seq', 'series', 'rev', 'tomb')
if (cur[1] and tonumber(cur[1]) >= tonumber(ARGV[2])) or (cur[4] and tonumber(cur[4]) >= tonumber(ARGV[2])) then
  return state('stale')
end
local id, series = ARGV[7], ARGV[4]
if cur[1] and cur[2] ~= series then redis.call('ZREM', figs(cur[2]), cur[2] .. '|' .. id) end
redis.call('ZADD', figs(series), ARGV[5], series .. '|' .. id)
local rev = math.max(tonumber(cur[3]) or 0, tonumber(ARGV[8])) + 1
if cur[4] then redis.call('HDEL', doc, 'tomb') end
redis.call('HSET', doc, 'event', ARGV[1], 'seq', ARGV[2], 'rev', rev,
  'updated', ARGV[6], 'score', ARGV[5], 'series', series)
-- The TradeCurrent value: "<revision>:<updated>:<bytes>".
redis.call('HSET', current, id, tostring(rev) .. ':' .. ARGV[6] .. ':' .. ARGV[3])
return {'applied', '1', ARGV[5], series, tostring(rev)}
`)

// removeTradeScript is removeAgreementScript for trade figures.
// KEYS: doc, current versions, the figure indexes. ARGV: sequence, figure id.
var removeTradeScript = redis.NewScript(luaHelpers + luaFigureIndexes(3) + `
local doc, current = KEYS[1], KEYS[2]
local cur = redis.call('HMGET', doc, 'seq', 'series', 'rev', 'tomb')
if cur[4] and tonumber(cur[4]) >= tonumber(ARGV[1]) then return {'newer', cur[3] or '0'} end
if not cur[1] then return {'absent', cur[3] or '0'} end
if tonumber(cur[1]) >= tonumber(ARGV[1]) then return {'newer', cur[3] or '0'} end
redis.call('ZREM', figs(cur[2] or ''), (cur[2] or '') .. '|' .. ARGV[2])
redis.call('HDEL', current, ARGV[2])
redis.call('DEL', doc)
redis.call('HSET', doc, 'rev', cur[3] or '0')
return {'removed', cur[3] or '0'}
`)

// seedRevisionScript carries a moving record's revision into the record
// HASH of its new partner before the location index points there, so a
// crash between the location update and the apply cannot reset the count.
// It only raises the revision of a HASH that holds no version.
// KEYS: doc. ARGV: revision.
var seedRevisionScript = redis.NewScript(`
if redis.call('HEXISTS', KEYS[1], 'seq') == 1 then return 0 end
local cur = tonumber(redis.call('HGET', KEYS[1], 'rev')) or 0
if tonumber(ARGV[1]) > cur then redis.call('HSET', KEYS[1], 'rev', ARGV[1]) end
return 1
`)

// casLocationScript moves a location index entry from the partner the caller
// saw ("" for none) to a new one; 0 when someone else changed it meanwhile.
var casLocationScript = redis.NewScript(`
local cur = redis.call('GET', KEYS[1])
if (cur or '') ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2])
return 1
`)

// listPageScript reads one page of a ZSET newest first, atomically resuming
// after the cursor (score, member). Ties on score are ordered by member
// descending, so the entries to skip are those ranked above the cursor.
// KEYS: zset. ARGV: max, min, count, cursor score ("" for the first page),
// cursor member. Returns member/score pairs, or {'gone'} when the cursor
// member no longer has its score (the caller then skips ties itself).
var listPageScript = redis.NewScript(`
local key, max, min, count = KEYS[1], ARGV[1], ARGV[2], tonumber(ARGV[3])
local offset = 0
if ARGV[4] ~= '' then
  local s = redis.call('ZSCORE', key, ARGV[5])
  if not s or tonumber(s) ~= tonumber(ARGV[4]) then return {'gone'} end
  local rank = redis.call('ZREVRANK', key, ARGV[5])
  local above = redis.call('ZCOUNT', key, '(' .. ARGV[4], '+inf')
  max = ARGV[4]
  offset = rank - above + 1
end
return redis.call('ZREVRANGEBYSCORE', key, max, min, 'WITHSCORES', 'LIMIT', offset, count)
`)

// retractAgreementScript takes a retracted agreement out of its partner
// slot, unless the stored version is newer than the retraction, and leaves
// a tombstone (revision and "tomb" = the retraction's sequence) that makes
// older versions stale.
// KEYS: doc, bydate, counts, applied, then every domain key of the stored version.
// ARGV: event id, sequence, agreement id, domains csv the caller saw stored,
// domain key prefix.
// Returns {status}: retracted, duplicate, stale or retry.
var retractAgreementScript = redis.NewScript(luaHelpers + `
local doc, bydate, counts, applied = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
if redis.call('SISMEMBER', applied, ARGV[1]) == 1 then return {'duplicate'} end
local cur = redis.call('HMGET', doc, 'seq', 'domains', 'year', 'rev', 'dims', 'tomb')
if (cur[1] and tonumber(cur[1]) >= tonumber(ARGV[2])) or (cur[6] and tonumber(cur[6]) >= tonumber(ARGV[2])) then
  redis.call('SADD', applied, ARGV[1])
  return {'stale'}
end
if (cur[2] or '') ~= ARGV[4] then return {'retry'} end
if cur[1] then
  agrRemove(counts, bydate, ARGV[5], ARGV[3], cur[2] or '', cur[3] or '0', cur[5])
  bump(counts, 'total', -1)
  flushCounts()
end
retire(doc)
redis.call('HSET', doc, 'rev', cur[4] or '0', 'tomb', ARGV[2])
redis.call('SADD', applied, ARGV[1])
return {'retracted'}
`)

// retractTradeScript is retractAgreementScript for trade figures.
// KEYS: doc, current versions, applied, the figure indexes.
// ARGV: event id, sequence, figure id.
var retractTradeScript = redis.NewScript(luaHelpers + luaFigureIndexes(4) + `
local doc, current, applied = KEYS[1], KEYS[2], KEYS[3]
if redis.call('SISMEMBER', applied, ARGV[1]) == 1 then return {'duplicate'} end
local cur = redis.call('HMGET', doc, 'seq', 'series', 'rev', 'tomb')
if (cur[1] and tonumber(cur[1]) >= tonumber(ARGV[2])) or (cur[4] and tonumber(cur[4]) >= tonumber(ARGV[2])) then
  redis.call('SADD', applied, ARGV[1])
  return {'stale'}
end
if cur[1] then
  redis.call('ZREM', figs(cur[2] or ''), (cur[2] or '') .. '|' .. ARGV[3])
  redis.call('HDEL', current, ARGV[3])
end
redis.call('DEL', doc)
redis.call('HSET', doc, 'rev', cur[3] or '0', 'tomb', ARGV[2])
redis.call('SADD', applied, ARGV[1])
return {'retracted'}
`)
