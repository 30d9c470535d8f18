#!/bin/sh
# The image's entrypoint: the app's one-off steps, then granian in place of this shell.
set -eu

# Steps that must finish before the app serves (database migrations, say) go in prestart.sh,
# beside the app. Run here, they hold the container back while they run, and a failure stops it.
if [ -f ./prestart.sh ]; then
    sh ./prestart.sh
fi

# exec: granian replaces the shell and becomes the container's PID 1, so the SIGTERM of
# `docker stop` or of a Kubernetes pod's termination reaches it. A shell left as PID 1 would
# not pass the signal on, and would not even die of it (PID 1 has no default signal actions):
# the container would be killed after its timeout, every request in flight cut.
exec granian "$@"
