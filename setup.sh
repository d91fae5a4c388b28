#!/usr/bin/env bash
# One command to set up: bubblewrap for the sandbox (when we may install it), then a virtual environment
# in .venv with the toolkit installed in editable mode. torch and torchvision come from the registry together.
set -euo pipefail
cd "$(dirname "$0")"

# What the system must provide: bubblewrap and util-linux's prlimit and setpriv for the sandbox, Chromium and
# its driver for the browser tests of the pages.
PACKAGES="bubblewrap util-linux chromium chromium-driver"
missing=""
for tool in bwrap prlimit setpriv chromium chromedriver; do
  command -v "$tool" >/dev/null 2>&1 || missing="$missing $tool"
done
if [ -n "$missing" ]; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $PACKAGES >/dev/null
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $PACKAGES >/dev/null
  else
    echo "note: missing$missing; install the Debian packages $PACKAGES (see README, Security)" >&2
  fi
fi

# bubblewrap installed is not enough: the kernel needs namespaces this machine lets us create.
if command -v bwrap >/dev/null 2>&1 && ! bwrap --unshare-all --die-with-parent --ro-bind / / true 2>/dev/null; then
  echo "warning: bubblewrap cannot create namespaces here, so kernels would run without the sandbox." >&2
  echo "  fix: allow unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1, or" >&2
  echo "  user.max_user_namespaces > 0), or run as root, or in a container that permits them." >&2
  echo "  \`python grade.py doctor\` lists every protection and what it needs." >&2
fi

python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e '.[dev]'
echo "ready: .venv/bin/python grade.py --help"
