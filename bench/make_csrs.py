#!/usr/bin/env python3
"""Writes N distinct P-256 CSRs, one per line, as base64 of DER (what Shedu's API takes) or as
JSON-escaped PEM (what cfssl takes). Usage: make_csrs.py N der|pem OUTPUT"""
import base64, json, sys
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

count, form, output = int(sys.argv[1]), sys.argv[2], sys.argv[3]
with open(output, "w") as out:
    for index in range(count):
        key = ec.generate_private_key(ec.SECP256R1())
        csr = (x509.CertificateSigningRequestBuilder()
               .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"device-{index:07d}")]))
               .sign(key, hashes.SHA256()))
        if form == "der":
            out.write(base64.b64encode(csr.public_bytes(serialization.Encoding.DER)).decode() + "\n")
        else:
            out.write(json.dumps(csr.public_bytes(serialization.Encoding.PEM).decode())[1:-1] + "\n")
