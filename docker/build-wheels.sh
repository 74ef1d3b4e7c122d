#!/bin/sh
# Build stage of the Dockerfile (also run outside a container by tests/test_dockerfile.py):
# wheels for agenttrace with its compiled extensions, and for everything it needs.
# usage: build-wheels.sh SOURCE_DIR WHEEL_DIR
set -eu
src=$1
out=$2
python -m pip wheel --no-cache-dir --wheel-dir "$out" "$src[collector,tui]"
# The compiled extensions must be in our wheel: a silent fallback to the twins is a bug here.
python - "$out" <<'PY'
import sys, zipfile, pathlib
wheel = next(pathlib.Path(sys.argv[1]).glob("agenttrace-*.whl"))
native = [n for n in zipfile.ZipFile(wheel).namelist() if n.startswith("agenttrace/_native/") and n.endswith(".so")]
if not native:
    sys.exit(f"{wheel.name} holds no compiled extension")
print(f"{wheel.name}: {len(native)} compiled extensions")
PY
