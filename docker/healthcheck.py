"""Container HEALTHCHECK: exit 0 when the collector answers /healthz, else 1."""

import os
import sys
import urllib.request

port = os.environ.get("AGENTTRACE_HEALTH_PORT", "4318")
try:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
        sys.exit(0 if response.status == 200 else 1)
except Exception:
    sys.exit(1)
