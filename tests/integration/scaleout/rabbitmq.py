"""A private RabbitMQ node for the chaos tests: killed and restarted without touching the machine's broker.

The machine's RabbitMQ (5672) is shared with other test runs, so a test that crashes its broker starts a
node of its own: its own node name, AMQP and distribution ports, data, logs, config and Erlang cookie
(a private ``HOME``: Erlang creates the cookie there at first boot and ``rabbitmqctl`` reads the same
one). It registers with the machine's ``epmd`` (or starts one, as any Erlang node does).

What is run is the distribution's own start script, not Debian's ``/usr/sbin`` wrapper: that wrapper
switches to the ``rabbitmq`` user and redirects output into ``/var/log/rabbitmq``, both of which a
private node must not do. ``RABBITMQ_CONF_ENV_FILE`` points at an empty file so that the machine's
``rabbitmq-env.conf`` (which pins ``NODENAME=rabbit@localhost``) is not read.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from pathlib import Path

from tests.support import free_port, port_answers, wait_until

# Debian/Ubuntu ship the real scripts here; elsewhere (generic-unix tarball, Homebrew) they are on PATH.
_SCRIPTS = Path("/usr/lib/rabbitmq/bin")


def rabbitmq_script(name: str) -> str | None:
    packaged = _SCRIPTS / name
    return str(packaged) if packaged.exists() else shutil.which(name)


def have_rabbitmq_server() -> bool:
    return rabbitmq_script("rabbitmq-server") is not None and rabbitmq_script("rabbitmqctl") is not None


class PrivateRabbitMQ:
    """``rabbitmq-server`` as a child process with a private node; ``crash()`` + ``start()`` restarts it."""

    def __init__(self, work_dir: Path) -> None:
        self.work_dir = work_dir
        self.port = free_port()
        self.dist_port = free_port()
        self.node = f"pressroom-chaos-{uuid.uuid4().hex[:8]}@localhost"
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}//"  # guest may log in from loopback

    def _env(self) -> dict[str, str]:
        root = self.work_dir
        for sub in ("home", "mnesia", "log"):
            (root / sub).mkdir(parents=True, exist_ok=True)
        (root / "rabbitmq.conf").write_text(f"listeners.tcp.local = 127.0.0.1:{self.port}\n")
        (root / "rabbitmq-env.conf").write_text("")
        (root / "enabled_plugins").write_text("[].\n")  # no plugins: a faster boot, no extra ports
        return {
            **os.environ,
            "HOME": str(root / "home"),
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_CONFIG_FILE": str(root / "rabbitmq.conf"),
            "RABBITMQ_CONF_ENV_FILE": str(root / "rabbitmq-env.conf"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(root / "enabled_plugins"),
            "RABBITMQ_MNESIA_BASE": str(root / "mnesia"),
            "RABBITMQ_LOG_BASE": str(root / "log"),
            "RABBITMQ_PID_FILE": str(root / "node.pid"),
            "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": "-kernel inet_dist_use_interface {127,0,0,1}",
            "ERL_EPMD_ADDRESS": "127.0.0.1",
        }

    def ctl(self, *args: str, timeout_s: float = 60) -> subprocess.CompletedProcess[str]:
        script = rabbitmq_script("rabbitmqctl")
        assert script is not None
        return subprocess.run(
            [script, "-n", self.node, *args], env=self._env(), capture_output=True, text=True, timeout=timeout_s
        )

    def start(self, timeout_s: float = 90) -> PrivateRabbitMQ:
        """Boot the node (same data directory on a restart: durable queues and their messages survive)."""
        script = rabbitmq_script("rabbitmq-server")
        assert script is not None
        env = self._env()
        wait_until(self._port_free, 30, what=f"port {self.port} released by the previous node")
        self.starts += 1
        log = (self.work_dir / f"server-{self.starts}.out").open("wb")
        self.process = subprocess.Popen(
            [script], env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, cwd=self.work_dir
        )
        log.close()
        deadline = time.monotonic() + timeout_s
        while not port_answers(self.port):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"RabbitMQ node {self.node} did not start:\n{self.output()[-4000:]}")
            time.sleep(0.2)
        # The listener opens late in the boot; await_startup confirms the rabbit application is fully up.
        result = self.ctl("await_startup", "--timeout", str(int(timeout_s)), timeout_s=timeout_s + 30)
        assert result.returncode == 0, result.stdout + result.stderr
        return self

    def crash(self) -> None:
        """SIGKILL the Erlang VM, as a crash or an OOM kill would (no clean shutdown, no final flush)."""
        pid = self._beam_pid()
        if pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            wait_until(lambda: not _alive(pid), 30, what=f"RabbitMQ VM {pid} gone")
        self._reap(signal.SIGKILL)

    def stop(self) -> None:
        """Stop the node whatever state it is in (used in ``finally``: never raises)."""
        with contextlib.suppress(Exception):
            if self.process is not None and self.process.poll() is None:
                self.ctl("stop", timeout_s=60)
        with contextlib.suppress(Exception):
            self.crash()

    def output(self) -> str:
        logs = sorted(self.work_dir.glob("server-*.out")) + sorted((self.work_dir / "log").glob("*.log"))
        return "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-3000:]}" for p in logs)

    def _beam_pid(self) -> int | None:
        pid_file = self.work_dir / "node.pid"
        try:
            return int(pid_file.read_text().strip())
        except (OSError, ValueError):
            return None

    def _reap(self, sig: int) -> None:
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(20)

    def _port_free(self) -> bool:
        # What the node's listener will do: bind with SO_REUSEADDR (a killed VM's socket may linger).
        with socket.socket() as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind(("127.0.0.1", self.port))
            except OSError:
                return False
            return True


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (killed, not yet reaped by its parent script) holds nothing any more.
    with contextlib.suppress(OSError):
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    return True
