"""The guide's Kubernetes manifest: its numbers, its probes, and the termination timeline it relies on.

No cluster runs here. The manifest is read as Kubernetes reads it, and its container is started
as the kubelet would start it: the image's entrypoint (see :mod:`deploy.image`) with the image's
variables, the container's ``env`` over them and its ``args`` in place of CMD. Then the kubelet's
part of a pod's deletion is played: after preStop, SIGTERM to PID 1, and SIGKILL at the end of the
grace period, which granian must never reach.
"""

from __future__ import annotations

import signal
import socket
import time
from typing import Any

import httpx
import yaml

from deploy.image import Image
from deploy.recipes import RECIPES, free_port
from testkit.process import ServerProcess

MANIFEST = RECIPES / 'kubernetes' / 'deployment.yaml'
#: What granian takes past its kill timeout to exit: SIGKILL to the workers, joining them, the
#: shutdown hooks, closing the listeners. The grace period must leave at least this much.
EXIT_MARGIN = 5.0
#: The manifest's kill timeout (30 s), scaled down for the timeline test: the timeline is the
#: same, only shorter. The inequality is checked on the manifest's own numbers.
SCALED_KILL_TIMEOUT = 3


def _manifest(kind: str) -> dict[str, Any]:
    (document,) = (doc for doc in yaml.safe_load_all(MANIFEST.read_text()) if doc['kind'] == kind)
    return document  # type: ignore[no-any-return]


def _container() -> dict[str, Any]:
    (container,) = _manifest('Deployment')['spec']['template']['spec']['containers']
    return container  # type: ignore[no-any-return]


def _container_port(container: dict[str, Any], name: str) -> int:
    (port,) = (port['containerPort'] for port in container['ports'] if port['name'] == name)
    return port  # type: ignore[no-any-return]


def _start_pod(image: Image, *, kill_timeout: int | None = None) -> tuple[ServerProcess, int, int]:
    """The manifest's container on free ports of 127.0.0.1 (Kubernetes gives the pod an address of
    its own); the server and its HTTP and metrics ports."""
    container = _container()
    env = {item['name']: item['value'] for item in container['env']}
    port, metrics_port = free_port(), free_port()
    machine = {
        'GRANIAN_HOST': ('0.0.0.0', '127.0.0.1'),
        'GRANIAN_PORT': (str(_container_port(container, 'http')), str(port)),
        'GRANIAN_METRICS_ADDRESS': ('0.0.0.0', '127.0.0.1'),
        'GRANIAN_METRICS_PORT': (str(_container_port(container, 'metrics')), str(metrics_port)),
    }
    if kill_timeout is not None:
        machine['GRANIAN_WORKERS_KILL_TIMEOUT'] = (env['GRANIAN_WORKERS_KILL_TIMEOUT'], str(kill_timeout))
    for name, (expected, value) in machine.items():
        assert {**image.env, **env}[name] == expected, (name, expected)
        env[name] = value
    pod = image.run(container['args'], env=env).ready()
    return pod, port, metrics_port


def _request(port: int, path: str) -> socket.socket:
    client = socket.create_connection(('127.0.0.1', port), timeout=30)
    client.sendall(f'GET {path} HTTP/1.1\r\nhost: app\r\n\r\n'.encode())
    return client


def _read_to_the_end(client: socket.socket) -> bytes:
    """Everything the server sends until it closes; a reset ends it too."""
    data = b''
    with client:
        try:
            while chunk := client.recv(65536):
                data += chunk
        except ConnectionResetError:
            pass
    return data


def test_the_grace_period_outlasts_prestop_and_the_kill_timeout() -> None:
    pod = _manifest('Deployment')['spec']['template']['spec']
    container = _container()
    sleep, seconds = container['lifecycle']['preStop']['exec']['command']
    assert sleep == 'sleep'
    kill_timeout = float({item['name']: item['value'] for item in container['env']}['GRANIAN_WORKERS_KILL_TIMEOUT'])
    # The grace period starts with preStop; SIGTERM comes after it; granian exits at most its
    # kill timeout later, plus the time to exit.
    assert pod['terminationGracePeriodSeconds'] > float(seconds) + kill_timeout + EXIT_MARGIN


def test_the_service_and_the_probes_reach_granians_ports(image: Image) -> None:
    container = _container()
    names = {port['name'] for port in container['ports']}
    (service_port,) = _manifest('Service')['spec']['ports']
    assert service_port['targetPort'] in names
    pod, port, metrics_port = _start_pod(image)
    try:
        for probe in ('readinessProbe', 'livenessProbe'):
            check = container[probe]['httpGet']
            assert check['port'] == 'http'
            timeout = container[probe].get('timeoutSeconds', 1)  # Kubernetes' default is 1 s
            response = httpx.get(f'http://127.0.0.1:{port}{check["path"]}', timeout=timeout)
            assert response.status_code == 200 and response.text == 'ok'
        # The app's own answer to a bad request, while it is up.
        bad = httpx.get(f'http://127.0.0.1:{port}/slow?seconds=soon', timeout=10)
        assert (bad.status_code, bad.text) == (400, 'give the delay as ?seconds=N, a number from 0 to 3600')
        pod.wait_for('Metrics exporter listening at: ')
        metrics = httpx.get(f'http://127.0.0.1:{metrics_port}/metrics', timeout=10)
        assert metrics.status_code == 200 and 'granian_workers_spawns' in metrics.text
    finally:
        assert pod.stop() == 0


def test_sigterm_finishes_requests_within_the_kill_timeout_and_refuses_new_ones(image: Image) -> None:
    """The timeline the grace period is computed from, with a real server: what was in flight at
    SIGTERM finishes if it can within the kill timeout, is cut at the kill timeout otherwise; what
    arrives later is never served; granian exits within its kill timeout and the margin."""
    pod, port, _ = _start_pod(image, kill_timeout=SCALED_KILL_TIMEOUT)
    try:
        short = _request(port, '/slow?seconds=2')
        stuck = _request(port, '/slow?seconds=60')
        pod.wait_for('slow request: answering in 2 s')
        pod.wait_for('slow request: answering in 60 s')
        pod.send_signal(signal.SIGTERM)  # what the kubelet sends once preStop has ended
        started = time.monotonic()
        pod.wait_for('Stopping worker-1')
        assert _read_to_the_end(short).startswith(b'HTTP/1.1 200 OK')
        # A client that has not heard yet that the pod is leaving (preStop is there for them),
        # well after the worker stopped accepting (it hands over for 50 ms after the line above:
        # with uvloop a connection that arrives then is still served).
        late = _request(port, '/healthz')
        assert _read_to_the_end(stuck) == b''  # its worker was killed: no answer
        assert pod.proc.wait(SCALED_KILL_TIMEOUT + EXIT_MARGIN + 5) == 0
        exited = time.monotonic() - started
        # Never served: it waited in the listening socket's queue, and was reset when granian
        # closed the socket at exit (a readiness probe fails the same way by then).
        assert _read_to_the_end(late) == b''
    finally:
        pod.kill()
    assert SCALED_KILL_TIMEOUT <= exited < SCALED_KILL_TIMEOUT + EXIT_MARGIN, exited
    pod.stop()  # it has exited: this only collects the rest of its output
    assert 'Killing worker-1 after it refused to gracefully stop' in pod.output
    try:
        socket.create_connection(('127.0.0.1', port), timeout=5).close()
    except ConnectionRefusedError:
        pass
    else:
        raise AssertionError('a connection to the stopped pod was accepted')
