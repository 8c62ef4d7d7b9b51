#!/usr/bin/env python3
"""Print the pip arguments that select the right torch build for this machine (used by the Makefile).

* Linux without an NVIDIA GPU (no ``nvidia-smi``): PyPI's torch for Linux is the CUDA build (several GB of
  NVIDIA libraries), so add PyTorch's CPU wheel index; pip then prefers its ``+cpu`` wheel (a higher
  version than the plain one). Printed only when the index's host resolves: where it cannot be reached
  (an offline mirror, a CI machine with a local wheel), pip would only waste its retries on it.
* Linux with an NVIDIA GPU, macOS, Windows: nothing (PyPI's wheel is the right one: CUDA on Linux,
  CPU/MPS on macOS, CPU on Windows). GPU users pick another CUDA build with ``TORCH_INDEX=...``.
"""
import platform
import shutil
import socket
import sys

CPU_INDEX = "https://download.pytorch.org/whl/cpu"
HOST = "download.pytorch.org"


def main() -> int:
    if platform.system() != "Linux" or shutil.which("nvidia-smi"):
        return 0
    try:
        socket.getaddrinfo(HOST, 443)
    except OSError:
        print(f"torch_index: {HOST} cannot be resolved here; torch comes from the configured package "
              f"sources (a local CPU wheel, if this machine has one)", file=sys.stderr)
        return 0
    print(f"--extra-index-url {CPU_INDEX}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
