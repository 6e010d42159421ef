#!/usr/bin/env bash
# Create the two peer virtualenvs used by benchmarks/peers/run.py (not tracked by git):
#   benchmarks/peers/.venv-radcad   radCAD 0.14.0 (pins numpy < 2, so it needs its own venv)
#   benchmarks/peers/.venv-cadcad   cadCAD 0.5.3
# Both venvs are listed in benchmarks/peers/.gitignore.
# Usage: bash benchmarks/peers/setup_envs.sh [python3.11]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
PY=${1:-${PYTHON:-python3}}

make_env() {
  local dir=$1; shift
  if [[ ! -x "$dir/bin/python" ]]; then
    "$PY" -m venv "$dir"
  fi
  "$dir/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
  "$dir/bin/python" -m pip install --quiet --disable-pip-version-check "$@"
  "$dir/bin/python" - <<'EOF'
import importlib.metadata as md, sys
names = ("radcad", "cadCAD", "numpy", "pandas")
found = []
for n in names:
    try:
        found.append(f"{n} {md.version(n)}")
    except md.PackageNotFoundError:
        pass
print(sys.prefix, "->", ", ".join(found))
EOF
}

# radCAD 0.14.0 imports typing_extensions without declaring it (see shared/bench/peer-toy).
make_env "$here/.venv-radcad" "radcad==0.14.0" typing_extensions
make_env "$here/.venv-cadcad" "cadCAD==0.5.3" typing_extensions
