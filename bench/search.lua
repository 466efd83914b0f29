-- wrk script: anonymous searches, rotating over a few queries of one to three words.
local queries = {
  "inverter", "heat+pump+defrost", "battery+warranty", "firmware+modbus",
  "harmonic+distortion", "thermal+derating+capacity", "salt+spray", "standby+draw",
}
local n = 0
request = function()
  n = n + 1
  return wrk.format("GET", "/search/?q=" .. queries[(n % #queries) + 1])
end
