-- wrk: registers a new device with every request (POST /api/devmanager/v1/devices).
-- Environment: AUTHORIZATION (header value), DMS_ID, PREFIX (device id prefix, distinct per run).
local authorization = os.getenv("AUTHORIZATION")
local dms = os.getenv("DMS_ID")
local prefix = os.getenv("PREFIX") or "reg"
local threads = 0
local counter = 0

function setup(thread)
    thread:set("thread_id", threads)
    threads = threads + 1
end

function init(args)
    wrk.method = "POST"
    wrk.headers["Content-Type"] = "application/json"
    wrk.headers["Authorization"] = authorization
end

function request()
    counter = counter + 1
    local body = '{"id":"' .. prefix .. '-' .. thread_id .. '-' .. counter .. '","dms_id":"' .. dms ..
        '","tags":["sensor","site-1"],"metadata":{"location":"factory-floor-3"}}'
    return wrk.format(nil, nil, nil, body)
end

function response(status, headers, body)
    if status ~= 201 then io.stderr:write("unexpected status " .. status .. ": " .. string.sub(body, 1, 200) .. "\n") end
end
