"""Talk to the emulator's control endpoints: python ctl.py URL METHOD PATH [JSON_BODY]; prints the JSON answer."""
from __future__ import annotations

import sys
import urllib.request

url, method, path = sys.argv[1:4]
body = sys.argv[4].encode('utf-8') if len(sys.argv) > 4 else None
request = urllib.request.Request(url + path, data=body, method=method, headers={'Content-Type': 'application/json'})
with urllib.request.urlopen(request, timeout=30) as answer:
    print(answer.read().decode('utf-8'))
