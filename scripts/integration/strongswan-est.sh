#!/usr/bin/env bash
# strongSwan's EST client (`pki --estca`, `pki --est`) against Shedu: it cannot set a label, so it
# uses the label-less paths, served by --est-default-dms; it wants single-line base64 answers.
source "$(dirname "$0")/../lib/server.sh"
source "$(dirname "$0")/../lib/debian.sh"
if ! command -v pki >/dev/null 2>&1; then
    install_debian_packages strongswan-pki libstrongswan-extra-plugins libstrongswan-standard-plugins
fi
start_shedu --est-default-dms line-dms
cd "$WORK"
pki_quiet() { pki "$@" --debug 0 2> >(grep -v -e "TPM 2.0" -e "plugin 'tpm'" >&2); }

api POST /api/ca/v1/profiles '{"id":"device-profile","validity":{"type":"Duration","duration":"1y"},"extended_key_usages":["ClientAuth"]}' >/dev/null
api POST /api/ca/v1/cas '{"id":"root-ca","subject":{"common_name":"Fleet Root CA"},"key_metadata":{"type":"ECDSA","bits":256},
  "ca_expiration":{"type":"Duration","duration":"20y"}}' >/dev/null
api POST /api/ca/v1/cas '{"id":"issuing-ca-01","parent_id":"root-ca","subject":{"common_name":"Fleet Issuing CA"},
  "key_metadata":{"type":"ECDSA","bits":256},"ca_expiration":{"type":"Duration","duration":"10y"},"profile_id":"device-profile"}' >/dev/null
api POST /api/dmsmanager/v1/dms '{"id":"line-dms","settings":{"enrollment_settings":{"enrollment_ca":"issuing-ca-01",
  "est_rfc7030_settings":{"auth_mode":"NO_AUTH"}},"reenrollment_settings":{"reenrollment_delta":"1y",
  "est_rfc7030_settings":{"auth_mode":"CLIENT_CERTIFICATE","client_certificate_settings":{"validation_cas":["issuing-ca-01"]}}}}}' >/dev/null

step "pki --estca: the CA certificates"
pki_quiet --estca --url "$SHEDU_URL" --cacert "$SHEDU_CA" --caout ca --outform pem --force
ls ca*.pem >/dev/null || fail "pki --estca wrote no CA certificate"
cat ca*.pem > chain.pem

step "pki --est: enroll gateway-1 (simpleenroll)"
pki --gen --type ecdsa --size 256 --outform pem > gateway.key
pki --req --type priv --in gateway.key --dn "CN=gateway-1" --outform der > gateway.csr
pki_quiet --est --url "$SHEDU_URL" --in gateway.csr --cacert "$SHEDU_CA" --cacert chain.pem --outform pem > gateway.pem
openssl verify -CAfile chain.pem gateway.pem

step "pki --est with its certificate: renew gateway-1 (simplereenroll)"
pki --gen --type ecdsa --size 256 --outform pem > gateway2.key
pki --req --type priv --in gateway2.key --dn "CN=gateway-1" --outform der > gateway2.csr
pki_quiet --est --url "$SHEDU_URL" --in gateway2.csr --cacert "$SHEDU_CA" --cacert chain.pem --cert gateway.pem --key gateway.key \
    --outform pem > gateway2.pem
openssl verify -CAfile chain.pem gateway2.pem
[ "$(openssl x509 -in gateway.pem -noout -serial)" != "$(openssl x509 -in gateway2.pem -noout -serial)" ] || fail "no new certificate"
version=$(api GET /api/devmanager/v1/devices/gateway-1 | python3 -c 'import json,sys; print(json.load(sys.stdin)["identity_slot"]["active_version"])')
[ "$version" = "1" ] || fail "gateway-1's active version is $version after renewal, not 1"
echo "strongswan-est: all steps passed" >&2
