#!/usr/bin/env bash
# Make sure a headless Chromium is available for ba-eval's browser test (test_html.py).
#
# Installs the Debian "chromium" package when no chromium binary is on PATH. Idempotent and
# quick when one is already there. Always exits 0: when it cannot install (not root, no
# apt-get, no network), it says why and the browser test then skips with its own reason.
set -u

for bin in chromium chromium-browser google-chrome; do
    if path=$(command -v "$bin" 2>/dev/null); then
        echo "ensure_chromium: $bin already installed at $path; nothing to do"
        exit 0
    fi
done

if [ "$(id -u)" -ne 0 ]; then
    echo "ensure_chromium: chromium missing and not running as root; not installing (browser test will skip)"
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "ensure_chromium: chromium missing and apt-get not found; not installing (browser test will skip)"
    exit 0
fi

log=$(mktemp)
if apt-get update -qq >"$log" 2>&1 \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >>"$log" 2>&1 \
    && command -v chromium >/dev/null 2>&1; then
    echo "ensure_chromium: installed chromium ($(chromium --version 2>/dev/null || echo 'version unknown'))"
else
    echo "ensure_chromium: could not install chromium (browser test will skip): $(tail -n 1 "$log")"
fi
rm -f "$log"
exit 0
