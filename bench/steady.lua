-- wrk script: a steady load below saturation. Each connection waits 5 ms between requests,
-- so 16 connections ask for about 3,000 pages a second: readers arriving while the
-- notification goes out, rather than a benchmark that takes every core.
function delay()
  return 5
end
