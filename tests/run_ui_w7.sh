#!/usr/bin/env bash
# The app's widget tests under ipywidgets 7.7.1 (what Colab ships), in a small venv of their own.
# Usage: tests/run_ui_w7.sh [VENV]   (default VENV: .venv-w7; made on first use, no torch needed)
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${1:-.venv-w7}"
if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q "ipywidgets==7.7.1" pillow numpy requests tqdm pytest pytest-timeout ipython
fi
"$VENV/bin/python" -c 'import ipywidgets; assert ipywidgets.__version__ == "7.7.1", ipywidgets.__version__'
"$VENV/bin/python" -m pytest tests/test_ui.py tests/test_env.py -q -p no:cacheprovider -W "ignore::DeprecationWarning"
