#!/usr/bin/env bash
# Idempotent set-up used by `make install`, `make run` and `make test`.
# 1. System packages (Debian/Ubuntu): only the missing ones are installed, apt-get update runs at most once.
# 2. .venv from requirements.lock: rebuilt only when the lock (or pyproject) changed since the last install.
set -euo pipefail
cd "$(dirname "$0")/.."

SYSTEM_PACKAGES=(chromium qpdf poppler-utils fonts-dejavu-core fonts-liberation2 fonts-noto-core fonts-inter
  libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 python3-venv)
OPTIONAL_PACKAGES=(chromium-headless-shell)
PYTHON=${PYTHON:-python3}

missing=()
if command -v dpkg-query >/dev/null 2>&1; then
  for pkg in "${SYSTEM_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
fi
# python3-venv is only needed when the interpreter cannot make a venv by itself (e.g. pyenv builds can).
if [[ " ${missing[*]} " == *" python3-venv "* ]] && "$PYTHON" -c "import venv, ensurepip" 2>/dev/null; then
  missing=("${missing[@]/python3-venv}")
fi
missing=($(printf '%s\n' "${missing[@]}" | grep -v '^$' || true))
if ((${#missing[@]})); then
  echo "install: system packages missing: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
# Preferred but optional: Debian's headless-only Chromium build (faster contexts and prints); distributions
# without it (Ubuntu ships Chromium as a snap) fall back to the full browser.
for pkg in "${OPTIONAL_PACKAGES[@]}"; do
  if command -v dpkg-query >/dev/null 2>&1 && ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" \
    && apt-cache show "$pkg" >/dev/null 2>&1; then
    echo "install: optional system package: $pkg"
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "$pkg" \
      || echo "install: $pkg could not be installed; the full chromium will render"
  fi
done

stamp=.venv/.installed
want=$(cat requirements.lock pyproject.toml | sha256sum | cut -d' ' -f1)
if [ -x .venv/bin/python ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
echo "install: building .venv from requirements.lock"
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -r requirements.lock
.venv/bin/python -m pip install -q --no-deps -e .
echo "$want" > "$stamp"
