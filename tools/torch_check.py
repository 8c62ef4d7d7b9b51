#!/usr/bin/env python3
"""Say which torch build the environment got and how much disk it takes (run by the Makefile after
installing torch), and warn when a machine without an NVIDIA GPU got the CUDA build."""
import pathlib
import shutil
import sys


def main() -> int:
    import warnings

    warnings.filterwarnings("ignore")  # torch warns that numpy is missing: it comes with the package, next
    import torch

    site = pathlib.Path(torch.__file__).resolve().parents[1]
    folders = [site / "torch"] + sorted(site.glob("nvidia*")) + sorted(site.glob("triton"))
    size = sum(f.stat().st_size for folder in folders if folder.exists() for f in folder.rglob("*") if f.is_file())
    build = f"CUDA {torch.version.cuda}" if torch.version.cuda else "CPU"
    print(f"torch {torch.__version__}: the {build} build, {size / 1e9:.1f} GB installed")
    if torch.version.cuda and not shutil.which("nvidia-smi"):
        print("torch_check: this machine shows no NVIDIA GPU but got the CUDA build (PyTorch's CPU wheel index "
              "was not reachable). To save the space: make clean, then make setup "
              "TORCH_INDEX=\"--index-url https://download.pytorch.org/whl/cpu\"", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
