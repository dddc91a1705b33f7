# Sourced by scripts/objcg-prove and scripts/test: makes sure this checkout is installed in a
# Python environment pip may write to, and sets PY to that environment's interpreter.
#
# - Inside an activated virtual environment ($VIRTUAL_ENV), that environment is used.
# - Otherwise the checkout's own `.venv/` is used, created on first use with `python3 -m venv`
#   ($OBJCG_PYTHON names another interpreter). A system python3 that refuses `pip install`
#   (PEP 668, "externally-managed-environment", as Debian's and Ubuntu's do) is never written to.
# - Debian and Ubuntu ship the venv module in a separate package (python3-venv). When it is
#   missing, root installs it with apt-get (and says so); anyone else is told the command.
#
# The package is (re)installed, editable, when pyproject.toml changed since the last install
# or a different set of extras is asked for: callers set OBJCG_EXTRAS ("" or "[test]").

objcg_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

objcg_say() { echo "objcg-prove setup: $*" >&2; }

objcg_venv_works() {
    # ensurepip is what Debian strips out of python3 without python3-venv.
    "$1" -c 'import venv, ensurepip' >/dev/null 2>&1
}

objcg_make_venv() {
    local base="$1" dir="$2"
    if ! objcg_venv_works "$base"; then
        local pkg
        pkg="python3-venv"
        if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
            objcg_say "$base has no venv module; installing the Debian package $pkg with apt-get (running as root)"
            apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$pkg" >/dev/null \
                || { objcg_say "apt-get could not install $pkg"; return 2; }
            objcg_venv_works "$base" || {
                pkg="python$("$base" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')-venv"
                objcg_say "still no venv module; installing $pkg"
                DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$pkg" >/dev/null \
                    || { objcg_say "apt-get could not install $pkg"; return 2; }
            }
        else
            objcg_say "$base has no venv module (ensurepip), needed to create $dir."
            objcg_say "install it and run this again:  sudo apt-get install $pkg"
            objcg_say "(or activate a virtual environment of your own first; it is used as it is)"
            return 2
        fi
    fi
    objcg_say "creating the virtual environment $dir (with $base)"
    "$base" -m venv "$dir" || { objcg_say "could not create $dir"; return 2; }
}

objcg_setup() {
    local extras="${OBJCG_EXTRAS:-}" env_dir stamp want
    if [ -n "${VIRTUAL_ENV:-}" ] && [ -x "$VIRTUAL_ENV/bin/python" ]; then
        env_dir="$VIRTUAL_ENV"
    else
        env_dir="$objcg_root/.venv"
        local base="${OBJCG_PYTHON:-python3}"
        command -v "$base" >/dev/null 2>&1 || { objcg_say "no $base on PATH (set OBJCG_PYTHON to an interpreter, Python >= 3.10)"; return 2; }
        if [ ! -x "$env_dir/bin/python" ]; then
            objcg_make_venv "$base" "$env_dir" || return 2
        fi
    fi
    PY="$env_dir/bin/python"
    stamp="$env_dir/.objcg-prove-installed"
    # The stamp holds "sha256(pyproject.toml)|checkout|extras"; a plain run is satisfied by an
    # install that has extras too (a substring match on the prefix).
    want="$("$PY" -c 'import hashlib,sys; print(hashlib.sha256(open(sys.argv[1],"rb").read()).hexdigest())' "$objcg_root/pyproject.toml")|$objcg_root|$extras"
    if [ ! -f "$stamp" ] || ! grep -qF -- "$want" "$stamp"; then
        objcg_say "installing objcg-prove$extras into $env_dir"
        "$PY" -m pip install --quiet --disable-pip-version-check -e "$objcg_root$extras" \
            || { objcg_say "pip could not install objcg-prove$extras into $env_dir"; return 2; }
        echo "$want" > "$stamp"
    fi
    export PY
}
