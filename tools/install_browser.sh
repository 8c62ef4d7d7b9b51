#!/usr/bin/env bash
# Install the browser that tests/test_browser.py drives: Debian's Chromium at /usr/bin/chromium, and the fonts it
# needs to draw the course's text.
# (Playwright's own browser download is not used: it is not reachable from every machine.)
# Idempotent, and never fails the build: without root or apt the browser test is skipped instead.
set -u
CHROMIUM="${SWIN_EDU_CHROMIUM:-/usr/bin/chromium}"

# the fonts a learner's browser needs (README): Noto Sans CJK for the Chinese edition (also what matplotlib draws the
# Chinese figures with: tests/test_zh_viz.py) and a colour emoji font for the self-checks' marks
FONTS="fonts-noto-cjk fonts-noto-color-emoji"
install_fonts() {
    if command -v fc-list >/dev/null 2>&1 && [ -n "$(fc-list :lang=zh family)" ] && [ -n "$(fc-list :charset=2705 family)" ]; then
        echo "install_browser: CJK and emoji fonts are installed"
        return 0
    fi
    if [ "$(id -u)" != "0" ] || ! command -v apt-get >/dev/null 2>&1; then
        echo "install_browser: skipped the fonts (not root or no apt-get): sudo apt-get install $FONTS"
        return 0
    fi
    echo "install_browser: installing $FONTS with apt-get ..."
    export DEBIAN_FRONTEND=noninteractive
    (apt-get update -qq && apt-get install -y -qq $FONTS >/dev/null) || echo "install_browser: could not install $FONTS"
}
install_fonts

if [ -x "$CHROMIUM" ]; then
    echo "install_browser: $CHROMIUM is already installed ($("$CHROMIUM" --version 2>/dev/null || echo 'version unknown'))"
    exit 0
fi
if [ "$(id -u)" != "0" ]; then
    echo "install_browser: skipped: $CHROMIUM is missing and we are not root (install it with: sudo apt-get install chromium); the browser test will be skipped"
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "install_browser: skipped: $CHROMIUM is missing and apt-get is not available; the browser test will be skipped"
    exit 0
fi
echo "install_browser: installing Debian's chromium with apt-get ..."
export DEBIAN_FRONTEND=noninteractive
if apt-get update -qq && apt-get install -y -qq chromium >/dev/null; then
    echo "install_browser: installed $("$CHROMIUM" --version 2>/dev/null || echo chromium)"
else
    echo "install_browser: skipped: apt-get could not install chromium; the browser test will be skipped"
fi
exit 0
