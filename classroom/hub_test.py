"""A class on a real JupyterHub: N learners log in, start their servers and run notebook 01 at once.

Starts JupyterHub (``classroom/jupyterhub_config.py``: shared-password login, one local
``jupyterhub-singleuser`` process per learner, configurable-http-proxy in front, all on 127.0.0.1), then, in
one thread per learner and all at the same moment:

1. log in through the hub's login form with the class password (what a learner's browser does);
2. mint an API token from that login session (what the hub's *Token* page does);
3. start the learner's server through the hub's REST API and wait until the hub reports it ready;
4. upload ``notebooks/01_gan_basics.ipynb`` into the learner's home and open a notebook session
   (the Jupyter Server REST API, reached through the hub's proxy at ``/user/<name>/``);
5. run every code cell in order on that kernel over its websocket (the Jupyter messaging protocol:
   ``execute_request`` on the shell channel, outputs and ``status: idle`` on iopub), in class mode
   (``RAGTEACH_CLASS=1`` in the spawner's environment: the stored full-mode results load, as in a lecture;
   ``--mode quick`` runs quick mode instead);
6. stop the server.

A sampler thread reads every learner's process tree from ``/proc`` (psutil) twice a second: the peak
resident memory of the server plus its kernel, and the CPU seconds they used. The report has one row per
learner (log-in, start and run time, peak memory, CPU, result) and a capacity line
``<cores> cores / <memory> GB: <n> learners in class mode within <X> s`` where X is the wall time from the
moment all learners start to the moment the last one has finished notebook 01.

Exit code: 0 when every learner ran every cell without an error, 1 otherwise, 2 when the hub did not start.
Everything (hub, proxy, servers, kernels) is stopped at the end, also on failure or Ctrl-C.

Run: ``make hub-test`` (N = 3), or ``.venv/bin/python classroom/hub_test.py --learners 10``.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import psutil
import requests
import websocket

ROOT = Path(__file__).resolve().parent.parent
CONFIG = Path(__file__).resolve().parent / "jupyterhub_config.py"
NOTEBOOK = ROOT / "notebooks" / "01_gan_basics.ipynb"
DEFAULT_CHP = ROOT / ".venv" / "chp" / "node_modules" / ".bin" / "configurable-http-proxy"
MB = 1024 ** 2


# ---------------------------------------------------------------- small helpers

def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now (the kernel picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(check, timeout: float, what: str, interval: float = 0.5):
    """Call ``check()`` until it returns something truthy, at most ``timeout`` seconds; returns that value."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            value = check()
            if value:
                return value
        except (requests.RequestException, KeyError, ValueError) as exc:
            last_error = exc
        time.sleep(interval)
    raise TimeoutError(f"{what}: not done within {timeout:.0f} s" + (f" (last error: {last_error})" if last_error else ""))


# ---------------------------------------------------------------- the hub

class Hub:
    """JupyterHub as a child process (its own session), with the proxy and the learners' servers under it."""

    def __init__(self, chp: Path, state: Path, mode: str = "class") -> None:
        self.state = state
        self.port, self.api_port, self.proxy_api_port = free_port(), free_port(), free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.password = secrets.token_urlsafe(12)
        self.log_path = state / "jupyterhub.log"
        singleuser = Path(sys.executable).with_name("jupyterhub-singleuser")
        hub_exe = Path(sys.executable).with_name("jupyterhub")
        for exe, hint in ((chp, "run `make hub-test`, which installs it with npm into .venv/chp"),
                          (singleuser, "install the [hub] extra: pip install -e '.[notebook,hub]'"),
                          (hub_exe, "install the [hub] extra: pip install -e '.[notebook,hub]'")):
            if not exe.exists():
                raise FileNotFoundError(f"{exe} is missing: {hint}")
        self.env = dict(os.environ,
                        RAGTEACH_HUB_DIR=str(state), RAGTEACH_HUB_PORT=str(self.port),
                        RAGTEACH_HUB_API_PORT=str(self.api_port), RAGTEACH_PROXY_API_PORT=str(self.proxy_api_port),
                        RAGTEACH_HUB_PASSWORD=self.password,
                        RAGTEACH_CHP=str(chp), RAGTEACH_SINGLEUSER=str(singleuser), RAGTEACH_HUB_MODE=mode,
                        PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
        for name in ("RAGTEACH_QUICK", "RAGTEACH_CLASS"):   # only the learners' servers get the mode (config)
            self.env.pop(name, None)
        self.cmd = [str(hub_exe), "-f", str(CONFIG)]
        self.proc: subprocess.Popen | None = None
        self.seen: dict[int, psutil.Process] = {}     # every process ever seen under the hub, to clean up

    def start(self, timeout: float = 120) -> None:
        self.log_file = open(self.log_path, "w")
        self.proc = subprocess.Popen(self.cmd, cwd=self.state, env=self.env, stdout=self.log_file,
                                     stderr=subprocess.STDOUT, start_new_session=True)

        def up():
            if self.proc.poll() is not None:
                raise RuntimeError(f"JupyterHub exited with code {self.proc.returncode}")
            return requests.get(f"{self.url}/hub/api/", timeout=5).ok
        wait_until(up, timeout, "JupyterHub answering through the proxy")

    def descendants(self) -> list[psutil.Process]:
        try:
            kids = psutil.Process(self.proc.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            return []
        for p in kids:
            self.seen.setdefault(p.pid, p)
        return kids

    def log_tail(self, n: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return "(no hub log)"

    def stop(self, timeout: float = 30) -> list[int]:
        """SIGTERM the hub (it stops every server and the proxy), then SIGKILL whatever is left; returns the
        ids of the processes that had to be killed."""
        if self.proc is None:
            return []
        self.descendants()
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        alive = [p for p in self.seen.values() if p.is_running()]   # same pid *and* start time: ours
        _, alive = psutil.wait_procs(alive, timeout=10)   # kernels exit by themselves once their server has
        killed = []
        for p in alive:
            try:
                p.kill()
                killed.append(p.pid)
            except psutil.NoSuchProcess:
                pass
        self.log_file.close()
        return killed


# ---------------------------------------------------------------- memory and CPU per learner

@dataclass
class Usage:
    peak_rss: int = 0           # bytes: server + kernel, the largest sum seen
    cpu_s: float = 0.0          # CPU seconds (user + system) of server + kernel, the last reading
    pids: set = field(default_factory=set)


class Sampler(threading.Thread):
    """Reads each learner's process tree (the ``jupyterhub-singleuser`` process whose environment has
    ``JUPYTERHUB_USER=<name>``, plus its children) every ``interval`` seconds."""

    def __init__(self, hub: Hub, interval: float = 0.5) -> None:
        super().__init__(daemon=True)
        self.hub, self.interval = hub, interval
        self.usage: dict[str, Usage] = {}
        self.users: dict[int, str] = {}              # pid of a singleuser server -> learner
        self.peak_load = 0.0
        self.peak_used = 0
        self.halt = threading.Event()
        self.lock = threading.Lock()

    def user_of(self, p: psutil.Process) -> str | None:
        if p.pid not in self.users:
            cmd = " ".join(p.cmdline())
            self.users[p.pid] = p.environ().get("JUPYTERHUB_USER") if "jupyterhub-singleuser" in cmd else None
        return self.users[p.pid]

    def sample(self) -> None:
        for p in self.hub.descendants():
            try:
                name = self.user_of(p)
                if not name:
                    continue
                tree = [p] + p.children(recursive=True)
                rss = cpu = 0.0
                for q in tree:
                    with q.oneshot():
                        rss += q.memory_info().rss
                        t = q.cpu_times()
                        cpu += t.user + t.system
                with self.lock:
                    u = self.usage.setdefault(name, Usage())
                    u.peak_rss = max(u.peak_rss, int(rss))
                    u.cpu_s = max(u.cpu_s, cpu)
                    u.pids.update(q.pid for q in tree)
            except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
                continue
        self.peak_load = max(self.peak_load, os.getloadavg()[0])
        vm = psutil.virtual_memory()
        self.peak_used = max(self.peak_used, vm.total - vm.available)

    def run(self) -> None:
        while not self.halt.wait(self.interval):
            self.sample()


# ---------------------------------------------------------------- one learner

class KernelError(RuntimeError):
    pass


def run_cells(ws_url: str, token: str, cells: list[str], deadline: float) -> int:
    """Execute ``cells`` in order on the kernel behind ``ws_url``; returns how many ran. Raises
    ``KernelError`` on the first cell that fails, ``TimeoutError`` past ``deadline`` (time.monotonic)."""
    session = uuid.uuid4().hex
    ws = websocket.create_connection(ws_url, header=[f"Authorization: token {token}"], timeout=30)
    ws.settimeout(5)

    def request(msg_type: str, content: dict) -> str:
        msg_id = uuid.uuid4().hex
        ws.send(json.dumps({
            "header": {"msg_id": msg_id, "msg_type": msg_type, "session": session, "username": "learner",
                       "version": "5.3", "date": datetime.now(timezone.utc).isoformat()},
            "parent_header": {}, "metadata": {}, "content": content, "channel": "shell", "buffers": []}))
        return msg_id

    def wait_reply(msg_id: str) -> dict:
        """Until the shell reply *and* iopub's ``idle`` for ``msg_id`` have arrived; returns the reply."""
        reply, idle, error = None, False, None
        while reply is None or not idle:
            if time.monotonic() > deadline:
                raise TimeoutError("the notebook did not finish before the deadline")
            try:
                frame = ws.recv()
            except websocket.WebSocketTimeoutException:
                continue
            if isinstance(frame, bytes):             # a message with binary buffers (widgets): not ours
                continue
            msg = json.loads(frame)
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind = msg["msg_type"]
            if kind == "error":
                error = msg["content"]
            elif kind == "status" and msg["content"].get("execution_state") == "idle":
                idle = True
            elif msg.get("channel") == "shell":
                reply = msg["content"]
        if error and reply.get("status") == "ok":
            reply = dict(reply, status="error", **error)
        return reply

    try:
        wait_reply(request("kernel_info_request", {}))
        for i, code in enumerate(cells):
            reply = wait_reply(request("execute_request", {
                "code": code, "silent": False, "store_history": True, "user_expressions": {},
                "allow_stdin": False, "stop_on_error": True}))
            if reply.get("status") != "ok":
                raise KernelError(f"code cell {i}: {reply.get('ename')}: {reply.get('evalue')}")
        return len(cells)
    finally:
        ws.close()


@dataclass
class Result:
    name: str
    login_s: float = math.nan
    start_s: float = math.nan
    run_s: float = math.nan
    done_at: float = math.nan     # seconds after the common start
    cells: int = 0
    error: str = ""


def learner(hub: Hub, name: str, nb_name: str, notebook: dict, go: threading.Event, t0: list[float],
            deadline: float, out: Result) -> None:
    """One learner's whole visit; fills ``out`` (never raises)."""
    base = hub.url
    http = requests.Session()
    token = None
    go.wait()
    try:
        t = time.monotonic()
        r = http.get(f"{base}/hub/login", timeout=30)
        r.raise_for_status()
        r = http.post(f"{base}/hub/login", timeout=60, allow_redirects=False,
                      data={"username": name, "password": hub.password, "_xsrf": http.cookies.get("_xsrf", "")})
        if r.status_code != 302 or "login" in r.headers.get("Location", "").split("?")[0]:
            raise RuntimeError(f"log-in refused: HTTP {r.status_code}")
        r = http.post(f"{base}/hub/api/users/{name}/tokens", timeout=60,
                      headers={"X-XSRFToken": http.cookies.get("_xsrf", "")},
                      json={"note": "classroom test", "expires_in": 3600})
        r.raise_for_status()
        token = r.json()["token"]
        out.login_s = time.monotonic() - t

        auth = {"Authorization": f"token {token}"}
        t = time.monotonic()
        r = requests.post(f"{base}/hub/api/users/{name}/server", headers=auth, timeout=60)
        if r.status_code not in (201, 202):
            raise RuntimeError(f"server start refused: HTTP {r.status_code} {r.text[:200]}")

        def ready():
            u = requests.get(f"{base}/hub/api/users/{name}", headers=auth, timeout=30).json()
            s = u.get("servers", {}).get("")
            if s is None and not u.get("pending"):
                raise RuntimeError(f"the server of {name} stopped while starting (see the hub log)")
            return s is not None and s.get("ready")
        wait_until(ready, max(1.0, min(300.0, deadline - time.monotonic())), f"{name}'s server", interval=1.0)
        out.start_s = time.monotonic() - t

        t = time.monotonic()
        api = f"{base}/user/{name}/api"
        r = requests.put(f"{api}/contents/{nb_name}", headers=auth, timeout=60,
                         json={"type": "notebook", "format": "json", "content": notebook})
        r.raise_for_status()
        r = requests.post(f"{api}/sessions", headers=auth, timeout=120,
                          json={"path": nb_name, "type": "notebook", "kernel": {"name": "python3"}})
        r.raise_for_status()
        kernel = r.json()["kernel"]["id"]
        ws_url = (f"ws://127.0.0.1:{hub.port}/user/{name}/api/kernels/{kernel}/channels"
                  f"?session_id={uuid.uuid4().hex}")
        cells = ["".join(c["source"]) for c in notebook["cells"] if c["cell_type"] == "code"]
        out.cells = run_cells(ws_url, token, cells, deadline)
        out.run_s = time.monotonic() - t
        out.done_at = time.monotonic() - t0[0]
    except Exception as exc:  # noqa: BLE001  (reported per learner, never lost)
        out.error = f"{type(exc).__name__}: {exc}"[:300]
    finally:
        if token:
            try:
                requests.delete(f"{base}/hub/api/users/{name}/server", timeout=60,
                                headers={"Authorization": f"token {token}"})
            except requests.RequestException:
                pass                               # the hub's shutdown stops it anyway


# ---------------------------------------------------------------- the class

def report(results: list[Result], usage: dict[str, Usage], wall: float, sampler: Sampler, mode: str,
           load_before: float) -> tuple[str, bool]:
    """Print the per-learner table and the derived settings; return the capacity line and success."""
    print(f"\n{'learner':<10} {'log-in s':>8} {'start s':>8} {'run s':>7} {'done at s':>9} "
          f"{'peak MB':>8} {'CPU s':>6}  result")
    for r in results:
        u = usage.get(r.name, Usage())
        print(f"{r.name:<10} {r.login_s:8.1f} {r.start_s:8.1f} {r.run_s:7.1f} {r.done_at:9.1f} "
              f"{u.peak_rss / MB:8.0f} {u.cpu_s:6.1f}  {'ok' if not r.error else 'FAILED ' + r.error}")
    ok = [r for r in results if not r.error]
    cores = psutil.cpu_count(logical=True)
    mem_gb = psutil.virtual_memory().total / 1024 ** 3
    peaks = [usage[r.name].peak_rss / MB for r in ok if r.name in usage]
    cpus = [usage[r.name].cpu_s for r in ok if r.name in usage]
    print(f"\nload average (1 min): {load_before:.2f} before, peak {sampler.peak_load:.2f} during the run; "
          f"memory in use on the machine at its peak: {sampler.peak_used / 1024 ** 3:.1f} GB")
    if peaks:
        peak, cpu = max(peaks), sum(cpus) / len(cpus)
        guarantee = 64 * math.ceil(1.25 * peak / 64)
        print(f"per learner (server + kernel): peak memory {min(peaks):.0f}–{peak:.0f} MB, "
              f"CPU {cpu:.0f} core-seconds for notebook 01 in {mode} mode "
              f"(cores busy on average over the run: {sum(cpus) / wall:.2f} of {cores})")
        print(f"Zero to JupyterHub settings that follow: singleuser.memory.guarantee: {guarantee}M "
              f"(peak + 25 %), singleuser.memory.limit: {2 * guarantee}M, singleuser.cpu.guarantee: "
              f"{cpu / 60:.2f} (the CPU to run it within a minute: core-seconds / 60), singleuser.cpu.limit: 2")
    line = (f"capacity: {cores} cores / {mem_gb:.0f} GB: {len(ok)} learners in {mode} mode within {wall:.0f} s"
            + ("" if len(ok) == len(results) else f" ({len(results) - len(ok)} of {len(results)} FAILED)"))
    return line, len(ok) == len(results)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--learners", type=int, default=10, help="how many learners log in at once (default 10)")
    ap.add_argument("--timeout", type=float, help="seconds for the whole class (default 300 + 60 per learner, "
                    "at least 600)")
    ap.add_argument("--chp", type=Path, default=Path(os.environ.get("RAGTEACH_CHP", DEFAULT_CHP)),
                    help="the configurable-http-proxy executable")
    ap.add_argument("--notebook", type=Path, default=NOTEBOOK, help="the notebook every learner runs")
    ap.add_argument("--mode", choices=("class", "quick"), default="class",
                    help="class: the stored full-mode results load (default); quick: tiny budgets, as CI's nbval")
    ap.add_argument("--keep", action="store_true", help="keep the hub's folder (log, homes) afterwards")
    ap.add_argument("--json", type=Path, help="also write the results to this JSON file")
    args = ap.parse_args(argv)
    if not 1 <= args.learners <= 100:
        ap.error(f"--learners must be between 1 and 100, got {args.learners}")
    try:
        notebook = json.loads(args.notebook.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        ap.error(f"--notebook {args.notebook}: cannot read it as a notebook ({exc})")
    if args.timeout is None:
        args.timeout = max(600.0, 300.0 + 60.0 * args.learners)
    if args.timeout <= 0:
        ap.error(f"--timeout must be positive, got {args.timeout}")

    state = Path(tempfile.mkdtemp(prefix="ragteach-hub-"))
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    hub = Hub(args.chp.resolve(), state, args.mode)
    sampler = Sampler(hub)
    status = 1
    try:
        t = time.monotonic()
        try:
            hub.start()
        except (RuntimeError, TimeoutError) as exc:
            print(f"JupyterHub did not start: {exc}\n--- hub log ---\n{hub.log_tail()}")
            return 2
        print(f"JupyterHub {requests.get(f'{hub.url}/hub/api/', timeout=10).json()['version']} up at "
              f"{hub.url} in {time.monotonic() - t:.1f} s; {args.learners} learners run "
              f"{args.notebook.name} at once ({args.mode} mode)", flush=True)
        names = [f"learner{i:02d}" for i in range(1, args.learners + 1)]
        results = [Result(n) for n in names]
        go, t0 = threading.Event(), [0.0]
        deadline = time.monotonic() + args.timeout
        threads = [threading.Thread(target=learner, args=(hub, n, args.notebook.name, notebook, go, t0, deadline, r), daemon=True)
                   for n, r in zip(names, results)]
        for th in threads:
            th.start()
        load_before = os.getloadavg()[0]
        sampler.start()
        t0[0] = time.monotonic()
        go.set()
        for th in threads:
            th.join(max(0.0, deadline + 90 - time.monotonic()))   # the learners' own deadline + stopping
        wall = max((r.done_at for r in results if not r.error), default=time.monotonic() - t0[0])
        for th, r in zip(threads, results):
            if th.is_alive() and not r.error:
                r.error = "still running at the deadline"
        sampler.halt.set()
        sampler.join(5)
        line, ok = report(results, sampler.usage, wall, sampler, args.mode, load_before)
        if not ok:
            print(f"--- hub log (last lines) ---\n{hub.log_tail()}")
        print(line, flush=True)
        if args.json:
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(json.dumps({
                "capacity": line, "learners": [r.__dict__ for r in results],
                "peak_mb": {k: v.peak_rss / MB for k, v in sampler.usage.items()},
                "cpu_s": {k: v.cpu_s for k, v in sampler.usage.items()},
                "load_before": load_before, "peak_load": sampler.peak_load}, indent=1, default=str))
        status = 0 if ok else 1
    except KeyboardInterrupt:
        print("interrupted: stopping the hub and every server")
        status = 130
    finally:
        sampler.halt.set()
        killed = hub.stop()
        if killed:
            print(f"killed {len(killed)} process(es) the hub left behind: {killed}")
        if args.keep:
            print(f"hub folder kept: {state}")
        else:
            shutil.rmtree(state, ignore_errors=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
