#!/usr/bin/env bash
# Install the sandbox that the classroom grader runs every submission in: Debian's bubblewrap (bwrap).
# tests/test_classroom.py and tests/test_redteam.py grade submissions with it. Idempotent, and never fails the
# build: where it cannot be installed (no root, no apt) the sandboxed tests are skipped and the grader refuses
# to grade (docs/instructor.md).
set -u
if command -v bwrap >/dev/null 2>&1; then
    echo "install_sandbox: bubblewrap is already installed: $(command -v bwrap) ($(bwrap --version 2>/dev/null))"
    exit 0
fi
why=""
[ "$(id -u)" = "0" ] || why="we are not root (sudo apt-get install bubblewrap)"
[ -n "$why" ] || command -v apt-get >/dev/null 2>&1 || why="apt-get is not available"
if [ -z "$why" ]; then
    echo "install_sandbox: installing Debian's bubblewrap with apt-get ..."
    if DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
       DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap >/dev/null; then
        echo "install_sandbox: installed $(bwrap --version 2>/dev/null)"
        exit 0
    fi
    why="apt-get could not install it"
fi
echo "install_sandbox: skipped: bubblewrap is missing and $why; the sandboxed grading tests will be skipped"
exit 0
