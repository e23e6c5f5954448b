#!/usr/bin/env python3
"""Seeds N certificate rows issued by one CA straight into a stopped Shedu's SQLite file (the bulk
path of bench/certificate_lists.sh). Every row carries the DER of TEMPLATE (the list endpoints
return it as is); 5% are REVOKED, 5% EXPIRED, the rest ACTIVE; valid_from instants are one
millisecond apart in serial order.
Usage: seed_certificates.py DATABASE COUNT CA_ID CA_SERIAL TEMPLATE_DER ; prints the first valid_from (ms)."""
import hashlib
import json, sqlite3, sys, time

path, count, ca_id, ca_serial, template = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
der = open(template, "rb").read()
now = int(time.time() * 1000)
start = now - count - 1000
year = 364 * 86_400_000
db = sqlite3.connect(path)
db.execute("PRAGMA journal_mode=WAL")
db.execute("PRAGMA synchronous=OFF")
rows = []
columns = ("serial_number, der, subject_cn, subject, issuer, subject_key_id, authority_key_id, key_type, key_bits, "
           "valid_from, valid_to, status, revocation_timestamp, revocation_reason, held_by_ca, type, engine_id, key_id, "
           "is_ca, ca_id, self_signed, issuer_ca_id, issuer_serial, issuer_level, key_usage, extended_key_usage, "
           "alternative_names, metadata, created_at")
sql = f"INSERT INTO certificates ({columns}) VALUES ({','.join('?' * 29)})"


def key_id(index):
    """A subject key id as random as a real one (SHA-256 of a key), the same for an index every run."""
    return hashlib.sha256(index.to_bytes(8, "big")).hexdigest()


empty_names = json.dumps({"dns": [], "email": [], "ip": [], "uri": []}, sort_keys=True)
for i in range(count):
    name = f"device-{i:07d}"
    subject = json.dumps({"common_name": name, "country": "", "locality": "", "organization": "Bench",
                          "organization_unit": "", "state": ""}, sort_keys=True)
    issuer = json.dumps({"common_name": "Bench CA", "country": "", "locality": "", "organization": "",
                         "organization_unit": "", "state": ""}, sort_keys=True)
    valid_from = start + i
    status = "REVOKED" if i % 20 == 0 else "EXPIRED" if i % 20 == 1 else "ACTIVE"
    rows.append((f"{i + 1:032x}", der, name, subject, issuer, key_id(i), "00" * 32, "ECDSA", 256, valid_from,
                 valid_from + year, status, now if status == "REVOKED" else None,
                 "KeyCompromise" if status == "REVOKED" else "Unspecified", None, "IMPORTED_WITHOUT_KEY", "", None, 0,
                 None, 0, ca_id, ca_serial, 0, json.dumps(["DigitalSignature"]), json.dumps(["ClientAuth"]),
                 empty_names, "{}", valid_from))
    if len(rows) >= 20_000:
        db.executemany(sql, rows)
        rows.clear()
db.executemany(sql, rows)
db.commit()
db.execute("ANALYZE")
db.commit()
db.close()
print(start)
