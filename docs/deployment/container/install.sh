#!/bin/sh
# The image's build step (the Dockerfile's RUN), a script so that tests/deploy/test_container.py
# runs the very same commands without a container engine.
#
#   install.sh VENV PACKAGES APP
#
# Makes a virtual environment in VENV with granian (the packages/ directory of this repository,
# PACKAGES) and uvloop, then the app's own requirements (APP/requirements.txt, when there is one).
set -eu
venv=$1 packages=$2 app=$3

# No pip in it: uv installs what pip would, in seconds (it resolves and downloads in parallel),
# and the image is smaller without pip.
python3 -m venv --without-pip "$venv"
uv pip install --python "$venv/bin/python" \
    "$packages"/granian-* "$packages/granian[uvloop]"
if [ -f "$app/requirements.txt" ]; then
    uv pip install --python "$venv/bin/python" --requirement "$app/requirements.txt"
fi
