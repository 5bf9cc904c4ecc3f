# Sourced by scripts/test and scripts/demo: make .venv with everything the project needs.
# Re-installs only when pyproject.toml changed, so repeated runs start in a second.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${METERKIT_VENV:-$ROOT/.venv}"
PYTHON="${PYTHON:-python3}"

if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "meterkit needs Python 3.11 or newer; '$PYTHON' is $("$PYTHON" --version 2>&1)." >&2
  echo "Install python3.11+ and run again, or set PYTHON=/path/to/python3.11." >&2
  exit 2
fi
if [ ! -x "$VENV/bin/python" ]; then
  echo "== creating virtual environment in $VENV"
  "$PYTHON" -m venv "$VENV"
fi
stamp="$VENV/.meterkit-installed"
want="$(sha256sum "$ROOT/pyproject.toml" | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "== installing meterkit and its test dependencies (pip install -e '.[dev]')"
  # pip's warnings about unreachable mirrors are noise here; real errors still fail the step.
  "$VENV/bin/python" -m pip install --quiet --upgrade pip 2> >(grep -v "^WARNING: Location" >&2)
  "$VENV/bin/python" -m pip install --quiet -e "$ROOT[dev]" 2> >(grep -v -e "^WARNING: Location" >&2)
  echo "$want" > "$stamp"
fi
export PATH="$VENV/bin:$PATH"
