#!/usr/bin/env bash
# First device in five minutes (the README's walk-through, run by scripts/test so it never rots):
# start Shedu, create a bootstrap CA, an issuing CA and a DMS, enroll a device over EST with
# nothing but curl and openssl, see it ACTIVE, then renew it and let the server make a key.
source "$(dirname "$0")/../lib/server.sh"
start_shedu
cd "$WORK"

step "1. An issuance profile, the factory's bootstrap CA, and a root and issuing CA for device identities"
api POST /api/ca/v1/profiles '{"id":"device-profile","validity":{"type":"Duration","duration":"1y"},
  "key_usage":["DigitalSignature"],"extended_key_usages":["ClientAuth"]}' >/dev/null
api POST /api/ca/v1/cas '{"id":"bootstrap-ca","subject":{"common_name":"Factory Bootstrap CA"},
  "key_metadata":{"type":"ECDSA","bits":256},"ca_expiration":{"type":"Duration","duration":"10y"},"profile_id":"device-profile"}' >/dev/null
api POST /api/ca/v1/cas '{"id":"root-ca","subject":{"common_name":"Fleet Root CA"},
  "key_metadata":{"type":"ECDSA","bits":384},"ca_expiration":{"type":"Duration","duration":"20y"}}' >/dev/null
api POST /api/ca/v1/cas '{"id":"issuing-ca-01","parent_id":"root-ca","subject":{"common_name":"Fleet Issuing CA"},
  "key_metadata":{"type":"ECDSA","bits":256},"ca_expiration":{"type":"Duration","duration":"10y"},"profile_id":"device-profile"}' >/dev/null

step "2. A DMS: devices with a bootstrap certificate enroll over EST, identities come from issuing-ca-01"
api POST /api/dmsmanager/v1/dms '{"id":"factory-dms","name":"Factory line 1","settings":{
  "enrollment_settings":{"enrollment_ca":"issuing-ca-01","registration_mode":"JITP",
    "est_rfc7030_settings":{"auth_mode":"CLIENT_CERTIFICATE","client_certificate_settings":{"validation_cas":["bootstrap-ca"]}}},
  "reenrollment_settings":{"reenrollment_delta":"1y","preventive_delta":"30d","critical_delta":"7d"},
  "server_keygen_settings":{"enabled":true,"key":{"type":"ECDSA","bits":256}}}}' >/dev/null

step "3. The factory gives device-001 its bootstrap certificate"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out bootstrap.key 2>/dev/null
openssl req -new -key bootstrap.key -subj "/CN=device-001/O=Acme Corp" -outform DER | base64 -w 0 > bootstrap.csr.b64
api POST /api/ca/v1/cas/bootstrap-ca/sign '{"csr":"'"$(cat bootstrap.csr.b64)"'"}' | json_field certificate | base64 -d > bootstrap.pem

step "4. The device trusts the DMS's CAs (cacerts) and enrolls with its bootstrap certificate (simpleenroll)"
curl -sS --fail-with-body --cacert "$SHEDU_CA" "$SHEDU_URL/.well-known/est/factory-dms/cacerts" \
    | base64 -d | openssl pkcs7 -inform DER -print_certs -out chain.pem
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out device.key 2>/dev/null
openssl req -new -key device.key -subj "/CN=device-001/O=Acme Corp" -outform DER | base64 -w 0 > device.csr.b64
curl -sS --fail-with-body --cacert "$SHEDU_CA" --cert bootstrap.pem --key bootstrap.key \
    -H "Content-Type: application/pkcs10" --data-binary @device.csr.b64 \
    "$SHEDU_URL/.well-known/est/factory-dms/simpleenroll" | base64 -d | openssl pkcs7 -inform DER -print_certs -out device.pem
openssl verify -CAfile chain.pem device.pem
openssl x509 -in device.pem -noout -subject -issuer

step "5. The device is in the inventory, ACTIVE, with its identity bound"
status=$(api GET /api/devmanager/v1/devices/device-001 | json_field status)
echo "device-001: $status"
[ "$status" = "ACTIVE" ] || fail "device-001 is $status, not ACTIVE"

step "6. Renewal: the device re-enrolls with its own certificate (simplereenroll)"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out device2.key 2>/dev/null
openssl req -new -key device2.key -subj "/CN=device-001/O=Acme Corp" -outform DER | base64 -w 0 > device2.csr.b64
curl -sS --fail-with-body --cacert "$SHEDU_CA" --cert device.pem --key device.key \
    -H "Content-Type: application/pkcs10" --data-binary @device2.csr.b64 \
    "$SHEDU_URL/.well-known/est/factory-dms/simplereenroll" | base64 -d | openssl pkcs7 -inform DER -print_certs -out device2.pem
openssl verify -CAfile chain.pem device2.pem
version=$(api GET /api/devmanager/v1/devices/device-001 | python3 -c 'import json,sys; print(json.load(sys.stdin)["identity_slot"]["active_version"])')
[ "$version" = "1" ] || fail "after renewal the active version is $version, not 1"

step "7. Server-side key generation: a second device gets its key and certificate from the server"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out bootstrap2.key 2>/dev/null
openssl req -new -key bootstrap2.key -subj "/CN=device-002" -outform DER | base64 -w 0 > bootstrap2.csr.b64
api POST /api/ca/v1/cas/bootstrap-ca/sign '{"csr":"'"$(cat bootstrap2.csr.b64)"'"}' | json_field certificate | base64 -d > bootstrap2.pem
curl -sS --fail-with-body --cacert "$SHEDU_CA" --cert bootstrap2.pem --key bootstrap2.key \
    -H "Content-Type: application/pkcs10" --data-binary @bootstrap2.csr.b64 \
    "$SHEDU_URL/.well-known/est/factory-dms/serverkeygen" > keygen.multipart
python3 - keygen.multipart <<'PY'
import base64, sys
parts = open(sys.argv[1], newline="").read().split("--estServerKeyGenBoundary")
for part in parts:
    if "application/pkcs8" in part:
        open("served.key.der", "wb").write(base64.b64decode(part.split("\r\n\r\n", 1)[1].strip()))
    elif "application/pkcs7-mime" in part:
        open("served.p7.der", "wb").write(base64.b64decode(part.split("\r\n\r\n", 1)[1].strip()))
PY
openssl pkcs7 -inform DER -in served.p7.der -print_certs -out served.pem
openssl verify -CAfile chain.pem served.pem
[ "$(openssl pkey -inform DER -in served.key.der -pubout)" = "$(openssl x509 -in served.pem -noout -pubkey)" ] \
    || fail "the served key is not the key of the served certificate"

step "8. Every device of the fleet (curl -g: the filter's brackets are not a glob)"
api GET "/api/devmanager/v1/devices?filter=dms_owner[eq]factory-dms" | python3 -c '
import json, sys
for device in json.load(sys.stdin)["list"]:
    slot = device["identity_slot"]
    print("  %s: %s, certificate %s" % (device["id"], device["status"], slot["versions"][str(slot["active_version"])]))'
echo "first-device: all steps passed" >&2
