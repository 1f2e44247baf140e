"""Write a test CA and a server certificate for 127.0.0.1 and localhost, with trustme, into DIR.

python gen_certs.py DIR  ->  DIR/ca.pem (the CA that signed the server's certificate), DIR/server.pem (its chain),
DIR/server.key, DIR/other-ca.pem (an unrelated CA, which must not be able to verify the server)
"""
from __future__ import annotations

import os
import sys

import trustme

folder = sys.argv[1]
ca = trustme.CA()
server = ca.issue_cert('127.0.0.1', 'localhost')
ca.cert_pem.write_to_path(os.path.join(folder, 'ca.pem'))
with open(os.path.join(folder, 'server.pem'), 'wb') as handle:
    for pem in server.cert_chain_pems:
        handle.write(pem.bytes())
server.private_key_pem.write_to_path(os.path.join(folder, 'server.key'))
trustme.CA().cert_pem.write_to_path(os.path.join(folder, 'other-ca.pem'))
