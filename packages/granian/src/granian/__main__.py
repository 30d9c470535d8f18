from granian_cli import entrypoint

entrypoint()
