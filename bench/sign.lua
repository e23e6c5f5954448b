-- wrk: POSTs a different CSR with every request. Environment: CSR_FILE (one CSR per line),
-- BODY_PREFIX and BODY_SUFFIX around the CSR, AUTHORIZATION (optional header value).
local csrs = {}
for line in io.lines(os.getenv("CSR_FILE")) do csrs[#csrs + 1] = line end
local prefix = os.getenv("BODY_PREFIX")
local suffix = os.getenv("BODY_SUFFIX")
local authorization = os.getenv("AUTHORIZATION")
-- Threads take alternate lines, so no CSR is sent twice while the file lasts (run wrk with -t2).
local threads = 0
local index = 0
local stride = 2

function setup(thread)
    thread:set("offset", threads)
    threads = threads + 1
end

function init(args)
    index = offset
    wrk.method = "POST"
    wrk.headers["Content-Type"] = "application/json"
    if authorization and authorization ~= "" then wrk.headers["Authorization"] = authorization end
end

function request()
    local csr = csrs[(index % #csrs) + 1]
    index = index + stride
    return wrk.format(nil, nil, nil, prefix .. csr .. suffix)
end

function response(status, headers, body)
    if status ~= 201 and status ~= 200 then
        io.stderr:write("unexpected status " .. status .. ": " .. string.sub(body, 1, 200) .. "\n")
    end
end
