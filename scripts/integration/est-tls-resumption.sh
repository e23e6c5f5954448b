#!/usr/bin/env bash
# EST over a resumed TLS session: a device whose TLS library keeps sessions (openssl s_client
# -sess_out/-sess_in here) enrolls again on a resumed session, which carries its certificate but
# not the intermediate it presented, and is known as the same client; a session resumed from a
# handshake without a certificate stays anonymous.
source "$(dirname "$0")/../lib/server.sh"
start_shedu
cd "$WORK"
PORT=${SHEDU_URL##*:}

step "A factory root with a line CA that issues bootstrap certificates; the DMS trusts the root only"
api POST /api/ca/v1/profiles '{"id":"device-profile","validity":{"type":"Duration","duration":"1y"},"extended_key_usages":["ClientAuth"]}' >/dev/null
api POST /api/ca/v1/cas '{"id":"factory-root","subject":{"common_name":"Factory Root"},"key_metadata":{"type":"ECDSA","bits":256},
  "ca_expiration":{"type":"Duration","duration":"20y"}}' >/dev/null
api POST /api/ca/v1/cas '{"id":"line-ca","parent_id":"factory-root","subject":{"common_name":"Factory Line CA"},
  "key_metadata":{"type":"ECDSA","bits":256},"ca_expiration":{"type":"Duration","duration":"10y"},"profile_id":"device-profile"}' >/dev/null
api POST /api/ca/v1/cas '{"id":"issuing-ca","subject":{"common_name":"Fleet Issuing CA"},"key_metadata":{"type":"ECDSA","bits":256},
  "ca_expiration":{"type":"Duration","duration":"10y"},"profile_id":"device-profile"}' >/dev/null
api POST /api/dmsmanager/v1/dms '{"id":"line-dms","settings":{"enrollment_settings":{"enrollment_ca":"issuing-ca","registration_mode":"JITP",
  "enable_replaceable_enrollment":true,
  "est_rfc7030_settings":{"auth_mode":"CLIENT_CERTIFICATE","client_certificate_settings":{"validation_cas":["factory-root"]}}}}}' >/dev/null
api GET /api/ca/v1/cas/line-ca | python3 -c 'import json,sys,base64; print(base64.b64decode(json.load(sys.stdin)["certificate"]["certificate"]).decode())' > line-ca.pem
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out station.key 2>/dev/null
openssl req -new -key station.key -subj "/CN=station-7" -outform DER | base64 -w 0 > station.csr.b64
api POST /api/ca/v1/cas/line-ca/sign '{"csr":"'"$(cat station.csr.b64)"'"}' | json_field certificate | base64 -d > station.pem

# enroll NAME [s_client flags...]: simpleenroll for device NAME on one connection; prints whether
# the session was new or reused, the HTTP status line and, on refusal, the error (s_client may
# print the answer inside its session dump, so they are picked out of its output).
enroll() {
    local name=$1 body
    shift
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$name.key" -subj "/CN=$name" \
        -outform DER 2>/dev/null | base64 -w 0 > "$name.csr.b64"
    body=$(cat "$name.csr.b64")
    printf 'POST /.well-known/est/line-dms/simpleenroll HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/pkcs10\r\nContent-Length: %s\r\nConnection: close\r\n\r\n%s' \
        "${#body}" "$body" \
        | openssl s_client -connect "127.0.0.1:$PORT" -tls1_3 -CAfile "$SHEDU_CA" -ign_eof "$@" 2>/dev/null \
        | grep -a -o -E '^(New|Reused),|HTTP/1.1 [0-9]+|\{"err":[^}]*\}'
}

step "1. Full handshake with the station's certificate and the line CA: enrolled, session kept"
first=$(enroll device-101 -cert station.pem -cert_chain line-ca.pem -key station.key -sess_out session.pem)
echo "$first"
grep -q '^New,' <<<"$first" || fail "the first connection was not a full handshake"
grep -q '^HTTP/1.1 200' <<<"$first" || fail "enrollment on a full handshake was refused"

step "2. The same session resumed: the station is still known, with its line CA"
second=$(enroll device-102 -sess_in session.pem)
echo "$second"
grep -q '^Reused,' <<<"$second" || fail "the server did not resume the TLS session"
grep -q '^HTTP/1.1 200' <<<"$second" || fail "enrollment on a resumed session was refused"
status=$(api GET /api/devmanager/v1/devices/device-102 | json_field status)
[ "$status" = "ACTIVE" ] || fail "device-102 is $status after enrolling on a resumed session"

step "3. A session first made without a certificate, resumed: still no client certificate"
printf 'GET /health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n' \
    | openssl s_client -connect "127.0.0.1:$PORT" -tls1_3 -CAfile "$SHEDU_CA" -ign_eof -sess_out anonymous.pem >/dev/null 2>&1
third=$(enroll device-103 -sess_in anonymous.pem)
echo "$third"
grep -q '^Reused,' <<<"$third" || fail "the server did not resume the anonymous session"
grep -q '^HTTP/1.1 401\|^HTTP/1.1 403' <<<"$third" || fail "an anonymous resumed session enrolled a device"
step "4. TLS 1.0 and 1.1 are refused (RFC 7030 §3.3.1, RFC 8996); TLS 1.2 is served"
for version in -tls1 -tls1_1; do
    if echo | openssl s_client -connect "127.0.0.1:$PORT" "$version" -cipher 'DEFAULT:@SECLEVEL=0' -CAfile "$SHEDU_CA" 2>/dev/null \
        | grep -q '^ *Protocol *: *TLSv1\(\.1\)\?$'; then
        fail "a $version handshake was accepted"
    fi
done
echo | openssl s_client -connect "127.0.0.1:$PORT" -tls1_2 -CAfile "$SHEDU_CA" 2>/dev/null | grep -q '^ *Protocol *: *TLSv1.2$' \
    || fail "a TLS 1.2 handshake was refused"
echo "est-tls-resumption: all steps passed"
