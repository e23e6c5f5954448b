#!/usr/bin/env python3
"""Seeds N devices straight into a stopped Shedu's SQLite file (the bulk path of bench/devices.sh).

Every device belongs to one of the DMSs given; 10% have no identity, 10% have a certificate whose
renewal window has just begun (the monitor's first pass moves them), the rest are ACTIVE with
windows months away. Tags: a kind (sensor, gateway, camera), a site (site-0..99, 1% each) and a
zone (zone-0..999, 0.1% each). Creation instants are one millisecond apart, in id order.
Usage: seed_devices.py DATABASE COUNT DMS_ID... ; prints the first creation instant (ms)."""
import json, sqlite3, sys, time

path, count, dms_ids = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
now = int(time.time() * 1000)
start = now - count - 1000
day = 86_400_000
kinds = ["sensor", "gateway", "camera"]

db = sqlite3.connect(path)
db.execute("PRAGMA journal_mode=WAL")
db.execute("PRAGMA synchronous=OFF")
batch_devices, batch_tags = [], []

def flush():
    db.executemany(
        "INSERT INTO devices (id, dms_owner, status, tags, metadata, icon, icon_color, created_at, identity, events, "
        "active_serial, preventive_at, critical_at, expires_at, next_window_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        batch_devices)
    db.executemany("INSERT INTO device_tags (tag, created_at, device_id) VALUES (?,?,?)", batch_tags)
    batch_devices.clear()
    batch_tags.clear()

for i in range(count):
    device_id = f"dev-{i:07d}"
    created = start + i
    tags = [kinds[i % 3], f"site-{i % 100}", f"zone-{i % 1000}"]
    created_key = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(created // 1000)) + f".{created % 1000:03d}000000Z"
    events = {created_key: {"type": "CREATED", "description": ""}}
    if i % 10 == 0:
        status, identity, serial, windows = "NO_IDENTITY", None, None, (None, None, None, None)
    else:
        serial = f"{i:032x}"
        if i % 10 == 1:
            expires = now + 20 * day
            windows = (now - 1000, expires - 7 * day, expires, now - 1000)  # due: enters RENEWAL_WINDOW
        else:
            expires = now + 200 * day
            windows = (expires - 30 * day, expires - 7 * day, expires, expires - 30 * day)
        status = "ACTIVE"
        expiry_text = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(windows[2] // 1000))
        identity = json.dumps({"active_version": 0, "versions": {"0": serial}, "expiration_date": expiry_text,
                               "events": {created_key: {"type": "PROVISIONED", "description": ""}}}, sort_keys=True)
    batch_devices.append((device_id, dms_ids[i % len(dms_ids)], status, json.dumps(tags),
                          json.dumps({"location": f"factory-floor-{i % 50}", "model": "TH-2000"}, sort_keys=True),
                          "", "", created, identity, json.dumps(events), serial, *windows))
    batch_tags.extend((tag, created, device_id) for tag in tags)
    if len(batch_devices) >= 20_000:
        flush()
flush()
db.commit()
db.execute("ANALYZE")
db.commit()
db.close()
print(start)
