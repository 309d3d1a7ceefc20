# Shared set-up for scripts/*: find Python >= 3.12, make the venv, install pinned dependencies,
# npm packages and Debian packages, each only when missing or stale. Sourced, not run.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
cd "$ROOT"

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

sha256_of() { cat "$@" | sha256sum | cut -d' ' -f1; }

# Python >= 3.12: the venv's, pyenv's (also when pyenv is not on PATH), or one on PATH.
find_python() {
  local candidates=() pyenv_root="${PYENV_ROOT:-$HOME/.pyenv}" wanted
  wanted="$(tr -d '[:space:]' < "$ROOT/.python-version" 2>/dev/null || true)"
  [ -n "$wanted" ] && candidates+=("$pyenv_root/versions/$wanted/bin/python3")
  candidates+=($(ls -d "$pyenv_root"/versions/3.1[2-9]*/bin/python3 2>/dev/null | sort -rV))
  candidates+=(python3.14 python3.13 python3.12 python3)
  local python
  for python in "${candidates[@]}"; do
    if command -v "$python" >/dev/null 2>&1 &&
       "$python" -c 'import sys, venv; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then
      command -v "$python"
      return 0
    fi
  done
  echo "No Python >= 3.12 found (tried: ${candidates[*]}). Install python3.12 or newer." >&2
  return 1
}

apt_updated=""
# Install the Debian packages among "$@" that are missing, saying which.
ensure_debian_packages() {
  local missing=() package
  for package in "$@"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" ||
      missing+=("$package")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || {
      echo "Missing Debian packages: ${missing[*]}. Install them: apt-get install ${missing[*]}" >&2
      return 1
    }
    sudo="sudo -n"
  fi
  say "Installing Debian packages: ${missing[*]}"
  if [ -z "$apt_updated" ]; then
    $sudo apt-get update -q >/dev/null
    apt_updated=1
  fi
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
}

# pip without the warnings this machine's extra file indexes print for every package.
quiet_pip() {
  "$VENV/bin/python" -m pip -q --disable-pip-version-check "$@" 2>&1 |
    { grep -v "is ignored: it is neither a file nor a directory" || true; }
}

# The venv with the pinned Python dependencies and cloche installed editable.
ensure_venv() {
  if [ ! -x "$VENV/bin/python" ] ||
     ! "$VENV/bin/python" -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then
    local python
    python="$(find_python)"
    say "Creating the venv with $("$python" --version) ($python)"
    rm -rf "$VENV"
    "$python" -m venv "$VENV"
  fi
  local stamp="$VENV/.cloche-requirements.sha256" wanted
  wanted="$(sha256_of requirements/dev.txt pyproject.toml)"
  if [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
    say "Installing pinned Python dependencies (requirements/dev.txt) into .venv"
    quiet_pip install -r requirements/dev.txt
    quiet_pip install --no-deps --no-build-isolation -e .
    echo "$wanted" > "$stamp"
  fi
}

# npm packages from each lock file, reinstalled only when the lock changed.
ensure_npm() {
  command -v npm >/dev/null || ensure_debian_packages nodejs npm
  local dir stamp wanted
  for dir in "$@"; do
    stamp="$dir/node_modules/.cloche-lock.sha256"
    wanted="$(sha256_of "$dir/package-lock.json")"
    if [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
      say "Installing npm packages in ${dir} (npm ci)"
      (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
      echo "$wanted" > "$stamp"
    fi
  done
}

# dist/ (and the test dist): `cloche build` writes only what is stale, so a fresh dist costs ~0.3 s.
ensure_dist() {
  "$VENV/bin/cloche" build "$@"
}
