-- wrk: POSTs a different CSR with every request. Environment: CSR_FILE (one CSR per line),
-- BODY_PREFIX and BODY_SUFFIX around the CSR, AUTHORIZATION (optional header value).
-- Each thread formats its requests once, before wrk starts its clock, and defines no response
-- callback (wrk then hands no answer to Lua; it counts the answers that are not 2xx or 3xx
-- itself, which lib.sh's wrk_with_cpu reports): on two shared cores every microsecond the load
-- generator spends per request is taken from the server it measures.
local prefix = os.getenv("BODY_PREFIX")
local suffix = os.getenv("BODY_SUFFIX")
local authorization = os.getenv("AUTHORIZATION")
-- Threads take alternate lines, so no CSR is sent twice while the file lasts (run wrk with -t2).
local threads = 0
local stride = 2
local requests = {}
local index = 0

function setup(thread)
    thread:set("offset", threads)
    threads = threads + 1
end

function init(args)
    wrk.method = "POST"
    wrk.headers["Content-Type"] = "application/json"
    if authorization and authorization ~= "" then wrk.headers["Authorization"] = authorization end
    local line = 0
    for csr in io.lines(os.getenv("CSR_FILE")) do
        if line % stride == offset then requests[#requests + 1] = wrk.format(nil, nil, nil, prefix .. csr .. suffix) end
        line = line + 1
    end
end

function request()
    index = index + 1
    return requests[(index - 1) % #requests + 1]
end
