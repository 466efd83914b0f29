-- wrk script of the mixed load: tests/prodlike/test_load.py and `make bench`'s row 10
-- (bench/mix.py), both through bench/loadtools.py's mix_run.
--
--   wrk -t64 -c64 -d600s -s mix.lua URL -- DATA.lua THREADS POST_SECONDS POST_INTERVAL
--
-- One connection per thread, so that each response answers the thread's last request and
-- its latency can be kept by class. DATA.lua (written by loadtools.mix_data) returns the
-- paths, the reports comments are posted to, and the subscribers' session cookies and CSRF
-- tokens. Each request is, in a fixed rotation, an anonymous page (nginx's cache), a
-- subscriber's report page (with comments; past the cache to Django), or a search
-- (anonymous or a subscriber's). Comment posts are paced by the clock instead: one every
-- POST_INTERVAL seconds per thread, by the thread's next subscriber in turn, so that each
-- subscriber posts at most once per (its thread's subscribers x POST_INTERVAL) seconds and
-- never reaches the production rate limits; the threads' first posts are spread over one
-- interval, so that they never post together. Posting stops after POST_SECONDS.
--
-- A response is also classed by what it is: a comment post's answer (201, or a redirect to
-- "#comment-N", or a text/plain refusal), a search page, and for a logged-in reader or not
-- (the header's "Log out"). The counts of requests sent per class are kept too: more answers
-- of a class than requests sent of it would mean one reader got another's page.

local ffi = require("ffi")
ffi.cdef([[
typedef struct { long tv_sec; long tv_nsec; } gridline_timespec;
int clock_gettime(int clock_id, gridline_timespec *tp);
]])
local clock = ffi.new("gridline_timespec")
local function now()
  ffi.C.clock_gettime(1, clock) -- CLOCK_MONOTONIC
  return tonumber(clock.tv_sec) + tonumber(clock.tv_nsec) / 1e9
end

local CLASSES = { "anonymous_page", "subscriber_page", "anonymous_search", "subscriber_search",
                  "comment_post", "unclassified" }
-- Half anonymous pages, three tenths subscriber pages, a tenth each kind of search.
local MIX = { "anonymous_page", "subscriber_page", "anonymous_page", "anonymous_search",
              "subscriber_page", "anonymous_page", "subscriber_search", "anonymous_page",
              "subscriber_page", "anonymous_page" }

-- Main state: the threads, so done() can gather their counts. -------------------------------
local threads = {}

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

-- Thread states. -----------------------------------------------------------------------------

function init(args)
  data = dofile(args[1])
  thread_count = tonumber(args[2])
  started = now()
  post_until = started + tonumber(args[3])
  post_interval = tonumber(args[4])
  -- Not at once (wrk calls request() once before the run to look at a request), and each
  -- thread at its own point of the interval.
  next_post = started + post_interval * (id + 1) / thread_count
  mine = {}
  for index, account in ipairs(data.accounts) do
    if (index - 1) % thread_count == id then
      table.insert(mine, account)
    end
  end
  -- One flat table of counts, "<what> <class> [<value>]" -> number: wrk's thread:get()
  -- cannot copy nested tables out of a thread.
  tally = {}
  n = 0
end

-- Counts one more of `key`; the count is also the turn of a class's own rotation.
local function count(key)
  tally[key] = (tally[key] or 0) + 1
  return tally[key]
end

local function pick(list, i)
  return list[(i % #list) + 1]
end

-- The `turn`th of a rotation through `list` that each thread starts at its own point, so that
-- the threads together spread over the list (and over MIX) from the first request.
local function turn_of(list, turn)
  return pick(list, turn + math.floor(id * #list / thread_count))
end

local function comment_post(posts)
  local account = pick(mine, posts)
  local slug = pick(data.commented, posts * 7 + id)
  local text = string.format("Load comment t%d-%d: measured %d W at %d degrees.", id, posts,
                             posts % 97, posts % 41)
  local headers = {
    ["Cookie"] = account.cookie,
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["Origin"] = data.origin,
  }
  -- Both ways readers post: the page's script (a fragment back) and the plain form.
  if posts % 2 == 0 then
    headers["X-Requested-With"] = "fetch"
  end
  local body = "csrfmiddlewaretoken=" .. account.token .. "&body=" .. text:gsub(" ", "+")
  return wrk.format("POST", "/reports/" .. slug .. "/comments/", headers, body)
end

-- The class and start of the request in flight on this thread's one connection.
local pending, sent_at

local function next_request()
  local t = now()
  if t >= next_post and t < post_until then
    -- From now, not from the schedule: a thread that fell behind never bunches its posts.
    next_post = t + post_interval
    return "comment_post", comment_post(count("sent comment_post"))
  end
  n = n + 1
  local class = turn_of(MIX, n)
  local turn = count("sent " .. class)
  if class == "anonymous_page" then
    return class, wrk.format("GET", turn_of(data.anonymous, turn))
  elseif class == "anonymous_search" then
    return class, wrk.format("GET", "/search/?q=" .. turn_of(data.searches, turn))
  end
  local headers = { ["Cookie"] = pick(mine, turn).cookie }
  if class == "subscriber_page" then
    return class, wrk.format("GET", "/reports/" .. turn_of(data.reports, turn) .. "/", headers)
  end
  return class, wrk.format("GET", "/search/?q=" .. turn_of(data.searches, turn), headers)
end

function request()
  local class, request = next_request()
  pending, sent_at = class, now()
  return request
end

local function header(headers, name)
  return headers[name] or headers[name:lower()] or ""
end

local function classify(status, headers, body)
  local location = header(headers, "Location")
  -- A refused form post comes back as the comment form again ("retry-body").
  if status == 201 or location:find("#comment-", 1, true)
      or header(headers, "Content-Type"):find("text/plain", 1, true)
      or body:find('id="retry-body"', 1, true) then
    return "comment_post"
  end
  local logged_in = body:find(">Log out<", 1, true) ~= nil
  if body:find('class="narrow search-page"', 1, true) then
    return logged_in and "subscriber_search" or "anonymous_search"
  end
  if logged_in then
    if not body:find('id="report-body"', 1, true) then
      count("body_missing")
    end
    return "subscriber_page"
  end
  if status < 400 and body:find("<html", 1, true) then
    return "anonymous_page"
  end
  return "unclassified"
end

function response(status, headers, body)
  -- In tenths of a millisecond: a histogram per class, of the class the request was sent as.
  count(string.format("latency %s %d", pending, (now() - sent_at) * 1e4))
  local class = classify(status, headers, body)
  count("status " .. class .. " " .. status)
  local cache_status = header(headers, "X-Cache-Status")
  count("cache " .. class .. " " .. (cache_status == "" and "none" or cache_status))
end

-- Main state again: merge the threads' tables, print them and one line of JSON. ------------

local function merge(total, tally)
  for key, value in pairs(tally) do
    local what, class, item = key:match("^(%S+) ?(%S*) ?(%S*)$")
    if class == "" then
      total[what] = (total[what] or 0) + value
    elseif item == "" then
      total[what][class] = (total[what][class] or 0) + value
    else
      total[what][class] = total[what][class] or {}
      total[what][class][item] = (total[what][class][item] or 0) + value
    end
  end
end

local function json(value)
  if type(value) ~= "table" then
    return tostring(value)
  end
  local parts = {}
  for key, item in pairs(value) do
    table.insert(parts, string.format('"%s": %s', tostring(key), json(item)))
  end
  return "{" .. table.concat(parts, ", ") .. "}"
end

function done(summary, latency, requests)
  local total = { sent = {}, status = {}, cache = {}, latency = {}, body_missing = 0 }
  for _, thread in ipairs(threads) do
    merge(total, thread:get("tally"))
  end
  local seconds = summary.duration / 1e6
  local e = summary.errors
  print(string.format("requests %d in %.1f s: %.1f req/s", summary.requests, seconds,
                      summary.requests / seconds))
  print(string.format("latency p50 %.1f ms, p90 %.1f ms, p99 %.1f ms, max %.1f ms",
                      latency:percentile(50) / 1e3, latency:percentile(90) / 1e3,
                      latency:percentile(99) / 1e3, latency.max / 1e3))
  print(string.format("socket errors: connect %d, read %d, write %d, timeout %d; status > 399: %d",
                      e.connect, e.read, e.write, e.timeout, e.status))
  for _, class in ipairs(CLASSES) do
    local statuses = {}
    for status, count in pairs(total.status[class] or {}) do
      table.insert(statuses, status .. ": " .. count)
    end
    table.sort(statuses)
    print(string.format("  %-18s sent %7d  answers %s", class, total.sent[class] or 0,
                        table.concat(statuses, ", ")))
  end
  total.requests = summary.requests
  total.seconds = seconds
  total.bytes = summary.bytes
  total.errors = { connect = e.connect, read = e.read, write = e.write, timeout = e.timeout,
                   status = e.status }
  total.latency_ms = { p50 = latency:percentile(50) / 1e3, p90 = latency:percentile(90) / 1e3,
                       p99 = latency:percentile(99) / 1e3, max = latency.max / 1e3 }
  print("LOAD-RESULT " .. json(total))
end
