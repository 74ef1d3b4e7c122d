#!/bin/sh
# Runtime stage of the Dockerfile (also run outside a container by tests/test_dockerfile.py):
# install agenttrace from the wheels only, with no compiler and no index.
# usage: install-runtime.sh WHEEL_DIR [PYTHON]
set -eu
wheels=$1
python=${2:-python}
"$python" -m pip install --no-cache-dir --no-index --find-links="$wheels" "agenttrace[collector,tui]"
