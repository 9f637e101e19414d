-- wrk script for bench/load.py: a weighted mix of signed-in page views, API reads and API
-- writes against one Credence server. load.py writes the data files it reads and runs
--
--     wrk -t T -c C -d Ns --timeout 30s -s bench/load.lua URL -- DATA_DIR TAG RATE_PER_THREAD
--
-- DATA_DIR holds config.txt (key=value: cookie, token, today, course, period_end, weights),
-- one id a line in members.txt, credentials.txt, types.txt, groups.txt, and this run's own
-- write pools, issue-TAG-THREAD.txt (credential ids, each issued once) and
-- assign-TAG-THREAD.txt (a type id then member ids, each line assigned once). A thread whose
-- pool runs dry records a training record instead, and counts the fallback.
--
-- Each request carries an X-Request-Id naming it; Credence echoes the header, which ties
-- every response to its request and kind although a thread's connections interleave. Per
-- kind the script counts what was sent, 2xx answers, other statuses, and keeps every
-- latency (microseconds, from the moment wrk writes the request to its last byte read, the
-- same span wrk's own histogram measures). done() prints one LOADTHREAD line of JSON per
-- thread and one LOADSUMMARY line with wrk's own figures; load.py merges them.
--
-- RATE_PER_THREAD > 0 paces the thread with delay(): one request every 1/RATE seconds over
-- all its connections, each slot taken by whichever connection is free; a thread that falls
-- behind does not burst to catch up, so the achieved rate shows it.

local ffi = require("ffi")
ffi.cdef [[
typedef struct { long tv_sec; long tv_usec; } load_timeval;
int gettimeofday(load_timeval *tv, void *tz);
]]
local tv = ffi.new("load_timeval")
local function now_us()
  ffi.C.gettimeofday(tv, nil)
  return tonumber(tv.tv_sec) * 1000000 + tonumber(tv.tv_usec)
end

-- Main state: number the threads and keep them for done().
local threads = {}
function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

local function read_lines(path)
  local out = {}
  local f = io.open(path, "r")
  if not f then return out end
  for line in f:lines() do
    if #line > 0 then out[#out + 1] = line end
  end
  f:close()
  return out
end

local function split(s)
  local out = {}
  for w in s:gmatch("%S+") do out[#out + 1] = w end
  return out
end

local function json_string(s)
  return '"' .. s:gsub('[%c"\\]', function(c)
    return string.format("\\u%04x", c:byte())
  end) .. '"'
end

-- Thread state ---------------------------------------------------------------------------

local conf, members, credentials, types, groups, issue_pool, assign_pool
local mix, total_weight
local stats, pending, seq, primed, issue_next, assign_next, fallback
local statuses = { "overdue", "not_started", "active", "active_renewal_in_progress" }
local names = { "garcia", "smith", "nguyen", "patel", "lee", "kim", "lopez", "walker", "brown", "silva" }
local sorts = { "member", "status", "expiration_date", "-expiration_date", "progress" }

local function pick(t) return t[math.random(#t)] end

local function kind_stats(kind)
  local s = stats[kind]
  if not s then
    s = { sent = 0, ok = 0, bad = 0, skipped = 0, codes = {}, lat = {}, samples = {} }
    stats[kind] = s
  end
  return s
end

function init(args)
  local dir, tag = args[1], args[2]
  local rate = tonumber(args[3]) or 0
  conf = {}
  for _, line in ipairs(read_lines(dir .. "/config.txt")) do
    local k, v = line:match("^([^=]+)=(.*)$")
    if k then conf[k] = v end
  end
  members = read_lines(dir .. "/members.txt")
  credentials = read_lines(dir .. "/credentials.txt")
  types = read_lines(dir .. "/types.txt")
  groups = read_lines(dir .. "/groups.txt")
  issue_pool = read_lines(dir .. "/issue-" .. tag .. "-" .. tid .. ".txt")
  assign_pool = read_lines(dir .. "/assign-" .. tag .. "-" .. tid .. ".txt")
  issue_next, assign_next = 1, 1
  fallback = { issue = 0, assign = 0 }
  stats, pending, seq, primed = {}, {}, 0, false
  math.randomseed(tid * 7919 + now_us() % 1000003)
  mix, total_weight = {}, 0
  for _, item in ipairs(split((conf.weights or ""):gsub(",", " "))) do
    local name, w = item:match("^([%w_]+):([%d.]+)$")
    if name and tonumber(w) > 0 then
      total_weight = total_weight + tonumber(w)
      mix[#mix + 1] = { name = name, upto = total_weight }
    end
  end
  if rate > 0 then
    local interval = 1000000 / rate
    local next_slot = nil
    -- Defined here, so that unpaced runs have no delay() at all (wrk would otherwise put
    -- a timer before every request).
    delay = function()
      local t = now_us()
      if next_slot == nil or next_slot < t then next_slot = t end
      local wait = next_slot - t
      next_slot = next_slot + interval
      return math.floor(wait / 1000)
    end
  end
  -- load.py reads this thread's figures in done() as one string (wrk copies strings
  -- between threads reliably, nested tables not): built on demand when `report` is read.
  setmetatable(_G, { __index = function(_, key)
    if key ~= "report" then return nil end
    local parts = {}
    for kind, s in pairs(stats) do
      local codes = {}
      for code, n in pairs(s.codes) do codes[#codes + 1] = json_string(tostring(code)) .. ":" .. n end
      local samples = {}
      for _, x in ipairs(s.samples) do samples[#samples + 1] = json_string(x) end
      parts[#parts + 1] = json_string(kind) .. ':{"sent":' .. s.sent .. ',"ok":' .. s.ok ..
        ',"bad":' .. s.bad .. ',"skipped":' .. s.skipped ..
        ',"codes":{' .. table.concat(codes, ",") .. '},"samples":[' .. table.concat(samples, ",") ..
        '],"lat_us":[' .. table.concat(s.lat, ",") .. ']}'
    end
    return '{"tid":' .. tid .. ',"issue_used":' .. (issue_next - 1) .. ',"assign_used":' ..
      (assign_next - 1) .. ',"fallback_issue":' .. fallback.issue .. ',"fallback_assign":' ..
      fallback.assign .. ',"unanswered":' .. (function()
        local n = 0
        for _ in pairs(pending) do n = n + 1 end
        return n
      end)() .. ',"kinds":{' .. table.concat(parts, ",") .. '}}'
  end })
end

-- One request of each kind: method, path, headers, body.

local function page(path)
  return "GET", path, { Cookie = conf.cookie, Accept = "text/html" }, nil
end

local function api(method, path, body)
  local h = { Authorization = "Bearer " .. conf.token, Accept = "application/json" }
  if body then h["Content-Type"] = "application/json" end
  return method, path, h, body
end

-- The Manage Credentials filter form as a browser submits it (crates/web/templates/
-- credentials.html): every field present, the unused ones empty; `status` is a multiple
-- select, so it is left out when nothing is chosen.
local function credentials_form(f)
  local q = "q=" .. (f.q or "")
  if f.status then q = q .. "&status=" .. f.status end
  q = q .. "&credential_type_id=" .. (f.type or "") .. "&group_id=" .. (f.group or "") ..
    "&expiring_within_days=" .. (f.within or "") .. "&lapsed=&sort=" .. (f.sort or "member")
  return "/credentials?" .. q
end

local build = {}

build.page_dashboard = function() return page("/") end

build.page_credentials = function()
  local v = math.random(5)
  local f, variant
  if v == 1 then f, variant = { status = pick(statuses), sort = "member" }, "status"
  elseif v == 2 then f, variant = { type = pick(types), sort = "-expiration_date" }, "type"
  elseif v == 3 then f, variant = { q = pick(names), sort = "member" }, "name"
  elseif v == 4 then f, variant = { status = "overdue", group = pick(groups), sort = "status" }, "group_overdue"
  else f, variant = { within = "90", sort = "expiration_date" }, "expiring" end
  local method, path, headers = page(credentials_form(f))
  return method, path, headers, nil, variant
end

build.page_member = function() return page("/members/" .. pick(members)) end

build.api_list = function()
  local v = math.random(6)
  local q, variant
  if v == 1 then
    local status = pick(statuses)
    q, variant = "status=" .. status, "status_" .. status
  elseif v == 2 then q, variant = "credential_type_id=" .. pick(types) .. "&sort=-expiration_date", "type"
  elseif v == 3 then q, variant = "q=" .. pick(names), "name"
  elseif v == 4 then
    local sort = pick(sorts)
    q, variant = "group_id=" .. pick(groups) .. "&status=overdue&sort=" .. sort, "group_overdue_" .. sort
  elseif v == 5 then q, variant = "member_id=" .. pick(members), "member"
  else q, variant = "expiring_within_days=60&sort=expiration_date", "expiring" end
  local method, path, headers = api("GET", "/api/v1/credentials?" .. q .. "&limit=50")
  return method, path, headers, nil, variant
end

build.api_credential = function() return api("GET", "/api/v1/credentials/" .. pick(credentials)) end

build.api_member = function() return api("GET", "/api/v1/members/" .. pick(members)) end

build.record = function()
  return api("POST", "/api/v1/training-records", '{"member_id":"' .. pick(members) ..
    '","course_id":"' .. conf.course .. '","completed_on":"' .. conf.today .. '","score":90}')
end

-- Issue over the incomplete checklist with an administrator's override reason: the
-- seeded tracks are Not Started or Overdue with 0% progress.
build.issue = function()
  local id = issue_pool[issue_next]
  if not id then
    fallback.issue = fallback.issue + 1
    return nil
  end
  issue_next = issue_next + 1
  return api("POST", "/api/v1/credentials/" .. id .. "/issue", '{"issue_date":"' .. conf.today ..
    '","override_reason":"load test","issuing_officer":"Load Bench"}')
end

build.assign = function()
  local line = assign_pool[assign_next]
  if not line then
    fallback.assign = fallback.assign + 1
    return nil
  end
  assign_next = assign_next + 1
  local ids = split(line)
  local ty = table.remove(ids, 1)
  return api("POST", "/api/v1/assignments", '{"credential_type_id":"' .. ty ..
    '","mode":"completion_period","period_start":"' .. conf.today .. '","period_end":"' ..
    conf.period_end .. '","member_ids":["' .. table.concat(ids, '","') .. '"]}')
end

function request()
  if tid == 0 and not primed then
    -- wrk calls request() once in the first thread before the run, only to check that it
    -- parses; that one is never sent, so it must not use up a write or count as sent.
    primed = true
    return wrk.format("GET", "/healthz")
  end
  local r = math.random() * total_weight
  local kind = mix[#mix].name
  for _, m in ipairs(mix) do
    if r < m.upto then kind = m.name; break end
  end
  local method, path, headers, body, variant = build[kind]()
  -- Reads name their filter variant ("api_list:status_overdue"), so a slow one shows
  -- apart in the per-kind table; writes keep their plain kind, which load.py counts.
  if variant then kind = kind .. ":" .. variant end
  if method == nil then
    -- A write pool ran dry: a training record instead, counted as one.
    kind = "record"
    method, path, headers, body = build.record()
  end
  seq = seq + 1
  local id = "load-" .. tid .. "-" .. seq
  headers["X-Request-Id"] = id
  pending[id] = { kind, now_us(), method .. " " .. path .. (body and (" " .. body) or "") }
  local s = kind_stats(kind)
  s.sent = s.sent + 1
  return wrk.format(method, path, headers, body)
end

function response(status, headers, body)
  local id = headers["x-request-id"] or headers["X-Request-Id"]
  local p = id and pending[id]
  local kind = "unmatched"
  if p then
    pending[id] = nil
    kind = p[1]
  end
  local s = kind_stats(kind)
  if p then s.lat[#s.lat + 1] = now_us() - p[2] end
  if status >= 200 and status < 300 then
    s.ok = s.ok + 1
    -- An assignment answers 200 even when a member already held the type ("skipped"):
    -- that is no write, so it is counted apart.
    if kind == "assign" and body:find('"skipped":%[{') then s.skipped = s.skipped + 1 end
  else
    s.bad = s.bad + 1
    s.codes[status] = (s.codes[status] or 0) + 1
    if #s.samples < 3 then
      s.samples[#s.samples + 1] = status .. " " .. (p and p[3] or "?") .. " -> " .. body:sub(1, 300)
    end
  end
end

function done(summary, latency, requests)
  for _, t in ipairs(threads) do
    io.write("LOADTHREAD " .. t:get("report") .. "\n")
  end
  local e = summary.errors
  io.write(string.format(
    'LOADSUMMARY {"duration_us":%d,"requests":%d,"bytes":%d,"errors":{"connect":%d,"read":%d,' ..
    '"write":%d,"status":%d,"timeout":%d},"p50_us":%d,"p90_us":%d,"p99_us":%d,"p999_us":%d,' ..
    '"max_us":%d,"mean_us":%.1f}\n',
    summary.duration, summary.requests, summary.bytes, e.connect, e.read, e.write, e.status,
    e.timeout, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency:percentile(99.9), latency.max, latency.mean))
end
