"""A hostile class cannot cheat: every attack of issue #11, graded in one batch.

Each attacker is a small welcome_timeout server that first tries one attack, writes what
it got to its own output, and then serves correctly or not at all, so its verdict says
what its server deserves. The batch also holds an honest correct and an honest buggy
submission, whose verdicts must be the ones they get when graded without the attackers.
The attackers know every path they would have to guess (the kit, its venv, the output
folder, the classmates' folders, a host secret and a host UNIX socket): the sandbox, not
secrecy, has to stop them. Attacks stay small: at most 500 processes, 600 MB per process
and 200 MB of disk.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from grading.cgroups import Cgroups
from grading.platforms import gradescope
from grading.report import Verdict, read_verdict
from SocketLibrary.handoff import LAUNCHER_VARIABLE
from tests.helpers import (
    ROOT,
    leftovers,
    mark_processes,
    run_grader,
    wait_until,
)

pytestmark = pytest.mark.slow

CLASS = ROOT / "grading" / "examples" / "welcome_timeout"
GRADE = ["--suite", "welcome_timeout", "--port", "8001", "--cmd", "python3 server.py"]
LIMITS = ["--process-limit", "64", "--memory-limit", "600", "--disk-limit", "50"]
# Below the ephemeral range, and used by no other test (see test_process_hygiene.py).
UNSANDBOXED_PORT = 18125
VENV = Path(sys.prefix)

# The correct server of the sample class, and the end every attacker that serves shares.
SERVE = (CLASS / "alice" / "server.py").read_text()

FORGER = """
    # Finds robot's --outputdir through its parent's command line and writes a passing
    # output.xml there; then listens and never answers.
    import glob, os, socket, time
    targets = [OUT + "/FORGER/output.xml"]
    for cmdline in glob.glob("/proc/*/cmdline"):
        try:
            words = open(cmdline, "rb").read().split(b"\\0")
        except OSError:
            continue
        if b"--outputdir" in words:
            targets.append(words[words.index(b"--outputdir") + 1].decode() + "/output.xml")
    for target in targets:
        try:
            with open(target, "w") as forged:
                forged.write("<robot>MARK passed</robot>")
            print("forged", target, flush=True)
        except OSError as error:
            print("cannot forge:", type(error).__name__, flush=True)
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", 8001))
    server.listen(5)
    time.sleep(3600)  # holds the port and answers nobody: the behaviour under test
"""

TAMPERER = """
    # Rewrites every classmate's results it can reach, then serves correctly.
    import glob, os
    changed = 0
    for name in ("output.xml", "verdict.json", "results.json", "summary.csv"):
        for path in glob.glob(OUT + "/*/" + name) + glob.glob(OUT + "/" + name):
            try:
                with open(path, "w") as file:
                    file.write("MARK")
                changed += 1
            except OSError:
                pass
    print("results changed:", changed, flush=True)
"""

CORRUPTER = """
    # Makes Reply Should Be always pass, drops a .pth file into the judge's venv, and
    # makes a user namespace.
    import glob, os
    done = []
    for path in [KIT + "/keywords/SocketLibrary/library.py", KIT + "/suites/welcome_timeout.robot"]:
        try:
            with open(path, "a") as file:
                file.write("\\n# MARK\\n")
            done.append(path)
        except OSError:
            pass
    sites = VENV + "/lib/python3*/site-packages", "/root/.pyenv/versions/*/lib/python3*/site-*"
    for site in glob.glob(sites[0]) + glob.glob(sites[1]):
        try:
            with open(site + "/MARK.pth", "w") as file:
                file.write("import os; os.system('touch /tmp/MARK')\\n")
            done.append(site)
        except OSError:
            pass
    print("corrupted:", len(done), flush=True)
    import ctypes  # a user namespace: "root" in it, and more of the kernel to attack
    made = ctypes.CDLL(None).unshare(0x10000000) == 0  # CLONE_NEWUSER
    print("user namespace:", "made" if made else "refused", flush=True)
"""

LEAKER = """
    # Reads classmates' code, a host secret, /etc/shadow and /root, follows its own
    # symbolic and hard links outward, and prints all of it into its output and replies.
    import glob, os, stat
    stolen = []
    for pattern in [CLASSDIR + "/*/server.py", SECRET, "/etc/shadow", "/root/*", "outward",
                    "hard_link", "/proc/1/environ", "/proc/1/cmdline"]:
        for path in glob.glob(pattern) or [pattern]:
            try:
                stolen.append(open(path, "rb").read(4096).decode(errors="replace"))
            except OSError as error:
                print("cannot read", path, type(error).__name__, flush=True)
    me = os.stat("setuid_program")
    print("setuid bit kept:", bool(me.st_mode & stat.S_ISUID), flush=True)
    print("files here:", sorted(name[:20] for name in os.listdir(".")), flush=True)
    print("STOLEN", stolen, flush=True)
    LEAK = "".join(stolen).encode()[:2000]
"""

ESCAPER = """
    # Connects to a host UNIX socket and to a listener in the grader's network namespace.
    import socket
    for family, address in ((socket.AF_UNIX, UNIX), (socket.AF_INET, ("127.0.0.1", HOSTPORT))):
        try:
            with socket.socket(family) as client:
                client.settimeout(2)
                client.connect(address)
                client.sendall(b"MARK")
            print("escaped to", address, flush=True)
        except OSError as error:
            print("cannot reach", address, type(error).__name__, flush=True)
"""

FORK_BOMB = """
    # Forks until refused (at most 400), then lets the children go and serves.
    import os, signal
    children = []
    try:
        for _ in range(400):
            pid = os.fork()
            if pid == 0:
                signal.pause()  # each child only holds a process slot
                os._exit(0)
            children.append(pid)
    except OSError as error:
        print("fork refused:", type(error).__name__, flush=True)
    print("forked", len(children), flush=True)
    for pid in children:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
"""

MEMORY_HOG = """
    # Three processes of 300 MB each (900 MB together), then serves.
    import os
    children = []
    for _ in range(3):
        pid = os.fork()
        if pid == 0:
            hog = bytearray(300 * 1024 * 1024)
            for offset in range(0, len(hog), 4096):
                hog[offset] = 1
            os._exit(0)
        children.append(pid)
    killed = sum(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == -9 for pid in children)
    print("hogs killed:", killed, flush=True)
"""

DISK_FILLER = """
    # Writes up to 200 MB to /tmp in files of 5 MB, then frees it and serves.
    import glob, os
    written = 0
    try:
        for number in range(40):
            with open(f"/tmp/filler{number}", "wb") as filler:
                for _ in range(5):
                    filler.write(b"x" * 1024 * 1024)
                    filler.flush()
                    written += 1
    except OSError as error:
        print("disk full:", type(error).__name__, flush=True)
    for path in glob.glob("/tmp/filler*"):
        os.remove(path)
    print("wrote MB:", written, flush=True)
"""

OUTLIVER = """
    # A daemon that outlives the grading to rewrite the summary, and a kill of every
    # process in sight that is not its own (robot, the grader).
    import os, signal, time
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            time.sleep(20)  # until the grader has written its summary: the attack's timing
            try:
                with open(OUT + "/summary.csv", "w") as summary:
                    summary.write("MARK")
            except OSError:
                pass
        os._exit(0)
    for pid in [int(p) for p in os.listdir("/proc") if p.isdigit()]:
        try:
            if b"server.py" not in open(f"/proc/{pid}/cmdline", "rb").read():
                os.kill(pid, signal.SIGKILL)
                print("killed", pid, flush=True)
        except OSError:
            pass
"""

ROBOT_KILLER = """
    # Kills its robot (its parent without a sandbox), then serves.
    import os, signal
    os.kill(os.getppid(), signal.SIGKILL)
"""

TOKEN_DROPPER = """
    # A daemon with a fresh environment (no sweep token), out of its server's process
    # tree, deaf to TERM, holding as many process slots as its limit leaves; then serves.
    import os, sys
    if os.fork() == 0:
        os.setsid()
        holder = (
            "import os, signal, time\\n"
            "for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):\\n"
            "    signal.signal(signum, signal.SIG_IGN)\\n"
            "for _ in range(" + str(HOLD) + "):\\n"
            "    try:\\n"
            "        if os.fork() == 0:\\n"
            "            break\\n"
            "    except OSError:\\n"
            "        break\\n"
            "time.sleep(600)  # MARK: holds its slots until killed, the attack itself\\n"
        )
        os.execve(sys.executable, [sys.executable, "-c", holder], {})
"""

STOPS_ITSELF = """
    # Exits with 128 + SIGSTOP, which its launcher must not raise on itself.
    import sys
    print("stopping", flush=True)
    sys.exit(147)
"""

KILLS_ITSELF = """
    # Dies by SIGKILL, as a server the memory limit kills does.
    import os, signal
    os.kill(os.getpid(), signal.SIGKILL)
"""

NOISY_FAILURE = """
    # Prints terminal escapes and fails to start.
    import sys
    print("\\x1b]0;owned\\x07\\x1b[2J\\x1b[31mred\\x1b[0m \\u202eevil", flush=True)
    sys.exit(1)
"""

SERVE_AFTER = """
    import socket, threading
    LEAK = globals().get("LEAK", b"")

    def serve(conn):
        conn.settimeout(5)
        try:
            data = conn.recv(1024)
            reply = b"welcome to server!" if data == b"1" else b"please go out!"
            conn.sendall(reply + LEAK)
        except socket.timeout:
            pass
        finally:
            conn.close()

    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", globals().get("PORT", 8001)))
    server.listen(5)
    while True:
        conn, addr = server.accept()
        threading.Thread(target=serve, args=(conn,), daemon=True).start()
"""

# folder -> (attack, serves afterwards)
ATTACKERS = {
    "forger": (FORGER, False),
    "tamperer": (TAMPERER, True),
    "corrupter": (CORRUPTER, True),
    "leaker": (LEAKER, True),
    "escaper": (ESCAPER, True),
    "fork_bomb": (FORK_BOMB, True),
    "memory_hog": (MEMORY_HOG, True),
    "disk_filler": (DISK_FILLER, True),
    "outliver": (OUTLIVER, True),
    "javascript:alert(document.domain)": ("", True),
    "=HYPERLINK(1)": (NOISY_FAILURE, False),
    "\x1b[31mred": ("", True),
    "token_dropper": (TOKEN_DROPPER, True),
    "stops_itself": (STOPS_ITSELF, False),
    "kills_itself": (KILLS_ITSELF, False),
    "summary.csv": ("", True),  # the name of the class's summary, next to its folder
}
NOT_GRADED = ["summary.csv"]
HONEST = ["alice", "dave_strips"]
# How the summaries show the names that are not inert as they are.
SHOWN = {"=HYPERLINK(1)": "'=HYPERLINK(1)", "\x1b[31mred": "\\x1b[31mred"}


class HostSocket:
    """A UNIX socket on the host and a TCP listener in the grader's network namespace,
    counting who reaches them."""

    def __init__(self, path: Path) -> None:
        self.unix = socket.socket(socket.AF_UNIX)
        self.unix.bind(str(path))
        self.unix.listen()
        self.tcp = socket.create_server(("127.0.0.1", 0))
        self.port = self.tcp.getsockname()[1]
        self.connections = 0
        self.threads = [
            threading.Thread(target=self._count, args=(listener,), daemon=True)
            for listener in (self.unix, self.tcp)
        ]
        for thread in self.threads:
            thread.start()

    def _count(self, listener: socket.socket) -> None:
        while True:
            try:
                connection, _ = listener.accept()
            except OSError:
                return
            self.connections += 1
            connection.close()

    def close(self) -> None:
        for listener in (self.unix, self.tcp):
            listener.shutdown(socket.SHUT_RDWR)
            listener.close()
        for thread in self.threads:
            thread.join(5)


def write_attacker(
    folder: Path, body: str, serves: bool, values: dict[str, object], mark: str
) -> None:
    folder.mkdir(parents=True)
    header = "".join(f"{name} = {value!r}\n" for name, value in values.items())
    code = header + textwrap.dedent(body).replace("MARK", mark)
    if serves:
        code += textwrap.dedent(SERVE_AFTER)
    (folder / "server.py").write_text(code)


def honest_copy(folder: Path, name: str, mark: str) -> None:
    shutil.copytree(CLASS / name, folder)
    with open(folder / "server.py", "a") as code:
        code.write(f"# {mark}\n")


def hash_tree(root: Path) -> str:
    """Every file's path, size, modification time, and the content of .pth files."""
    digest = hashlib.sha256()
    for folder, _, files in sorted(os.walk(root)):
        for name in sorted(files):
            path = Path(folder, name)
            info = path.lstat()
            digest.update(f"{path}:{info.st_size}:{info.st_mtime_ns}\n".encode())
            if name.endswith(".pth"):
                digest.update(path.read_bytes())
    return digest.hexdigest()


def git_status() -> str:
    return subprocess.run(
        ["git", "status", "--porcelain"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout


def summary(out: Path) -> dict[str, dict[str, str]]:
    """The rows of summary.csv by submission folder name."""
    folders = {shown: name for name, shown in SHOWN.items()}
    with open(out / "summary.csv", newline="") as file:
        return {
            folders.get(row["submission"], row["submission"]): row for row in csv.DictReader(file)
        }


def server_output(out: Path, name: str) -> str:
    return "".join(log.read_text(errors="replace") for log in (out / name).glob("server-*.log"))


def running_with(text: str) -> list[int]:
    """Live processes whose command line holds ``text``."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if text.encode() in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def everything_in(folder: Path) -> str:
    return "".join(path.read_text(errors="replace") for path in folder.rglob("*") if path.is_file())


@dataclass
class Batch:
    """The hostile class, graded, and what the tests compare it with."""

    out: Path
    result: subprocess.CompletedProcess
    rows: dict[str, dict[str, str]]
    alone_rows: dict[str, dict[str, str]]
    marks: dict[str, str]  # submission -> a string only its folder holds
    secrets: list[str]  # host secrets no output may show
    host_connections: int
    started: float

    def output(self, name: str) -> str:
        return "".join(
            log.read_text(errors="replace") for log in (self.out / name).glob("server-*.log")
        )


def make_class(tmp_path: Path, host: HostSocket) -> tuple[dict[str, str], list[str]]:
    """The honest and hostile submissions in ``tmp_path/class``; their marks and secrets."""
    classdir = tmp_path / "class"
    secret = tmp_path / "secret.txt"
    secret.write_text(f"HOST-SECRET-{uuid.uuid4().hex}")
    marks = {}
    for name in HONEST:
        marks[name] = f"MARK-{name}-{uuid.uuid4().hex}"
        honest_copy(classdir / name, name, marks[name])
    values = {
        "KIT": str(ROOT),
        "VENV": str(VENV),
        "OUT": str(tmp_path / "out"),
        "CLASSDIR": str(classdir),
        "SECRET": str(secret),
        "UNIX": str(tmp_path / "host.sock"),
        "HOSTPORT": host.port,
        "HOLD": 40,
    }
    for name, (attack, serves) in ATTACKERS.items():
        marks[name] = f"MARK-{uuid.uuid4().hex}"
        write_attacker(classdir / name, attack, serves, values, marks[name])
    leaker = classdir / "leaker"
    (leaker / "outward").symlink_to(secret)
    os.link(secret, leaker / "hard_link")
    os.mkfifo(leaker / "fifo")
    (leaker / ("long" * 60)).write_text("a name of 240 bytes")
    (leaker / "setuid_program").write_text("#!/bin/sh\n")
    (leaker / "setuid_program").chmod(0o4755)
    shadow = Path("/etc/shadow")
    secrets = [
        secret.read_text(),
        *(shadow.read_text().splitlines()[:1] if shadow.exists() else []),
    ]
    return marks, secrets


def test_a_hostile_class_cannot_cheat(tmp_path, monkeypatch):
    token = mark_processes(monkeypatch)
    host = HostSocket(tmp_path / "host.sock")
    try:
        marks, secrets = make_class(tmp_path, host)
        kit_before, venv_before = git_status(), hash_tree(VENV)
        started = time.time()
        folders = sorted((tmp_path / "class").iterdir())
        out = tmp_path / "out"
        result = run_grader(*GRADE, *LIMITS, "--outputdir", out, "--jobs", "6", *folders)
        # Nothing survives, not even the daemon that waits to rewrite the summary, nor
        # the one that dropped the token.
        wait_until(lambda: not leftovers(token), 5, "nothing left running")
        wait_until(lambda: not running_with(marks["token_dropper"]), 5, "no token dropper")
        honest = [tmp_path / "class" / name for name in HONEST]
        alone = run_grader(*GRADE, *LIMITS, "--outputdir", tmp_path / "alone", *honest)
    finally:
        host.close()
    assert result.returncode == 0, result.stderr
    assert alone.returncode == 0, alone.stderr
    batch = Batch(
        out,
        result,
        summary(out),
        summary(tmp_path / "alone"),
        marks,
        secrets,
        host.connections,
        started,
    )
    assert git_status() == kit_before, "the kit's checkout is unchanged"
    assert hash_tree(VENV) == venv_before, "the venv is unchanged"
    assert_honest_verdicts_are_unchanged(batch)
    assert_attackers_get_what_their_servers_deserve(batch)
    assert_limits_bind_the_whole_submission(batch)
    assert_nothing_reached_the_judge_the_host_or_a_classmate(batch)
    assert_reports_are_safe_to_open(batch)


def assert_honest_verdicts_are_unchanged(batch: Batch) -> None:
    for name in HONEST:
        assert batch.rows[name] == batch.alone_rows[name], name
    assert (batch.rows["alice"]["status"], batch.rows["alice"]["score"]) == ("graded", "100.0")
    assert batch.rows["dave_strips"]["score"] == "75.0"  # 6 of the 8 tests that ran


def assert_attackers_get_what_their_servers_deserve(batch: Batch) -> None:
    def verdict(name: str) -> tuple[str, str]:
        return batch.rows[name]["status"], batch.rows[name]["score"]

    assert verdict("forger") == ("graded", "0.0"), "it never answers"
    correct = [
        name
        for name, (_, serves) in ATTACKERS.items()
        if serves and name not in ("leaker", *NOT_GRADED)
    ]
    for name in correct:
        assert verdict(name) == ("graded", "100.0"), batch.rows[name]
    assert batch.rows["leaker"]["status"] == "graded", "its replies carry what it read"
    assert verdict("=HYPERLINK(1)") == ("did-not-start", "0.0")
    # Its own exit code, and the launcher neither stopped nor wrote a traceback
    assert verdict("stops_itself") == ("did-not-start", "0.0")
    assert batch.rows["stops_itself"]["reason"].startswith("exited with code 147 before")
    assert verdict("kills_itself") == ("did-not-start", "0.0")
    assert batch.rows["kills_itself"]["reason"].startswith("was killed by SIGKILL")
    for name in ("stops_itself", "kills_itself"):
        assert "Traceback" not in batch.output(name), name
    # Not graded, and the class's summary.csv is still the class's
    assert verdict("summary.csv") == ("error", "0.0")
    assert batch.rows["summary.csv"]["reason"].startswith("not graded: its folder has the name")


def assert_limits_bind_the_whole_submission(batch: Batch) -> None:
    assert "stopped by the process limit (64 processes)" in batch.rows["fork_bomb"]["reason"]
    assert int(batch.output("fork_bomb").split("forked ")[1].split()[0]) < 64
    assert "stopped by the memory limit (600 MB)" in batch.rows["memory_hog"]["reason"]
    assert "hogs killed: 0" not in batch.output("memory_hog")
    assert int(batch.output("disk_filler").split("wrote MB: ")[1].split()[0]) <= 50
    facts = json.loads((batch.out / "grading.json").read_text())["runs"][0]
    assert facts["isolation"] == "sandbox"
    assert "for the whole submission" in facts["limits"]["memory"]
    assert "for the whole submission" in facts["limits"]["processes"]


def assert_nothing_reached_the_judge_the_host_or_a_classmate(batch: Batch) -> None:
    assert "cannot forge: FileNotFoundError" in batch.output("forger")
    assert "results changed: 0" in batch.output("tamperer")
    assert "corrupted: 0" in batch.output("corrupter")
    assert "user namespace: refused" in batch.output("corrupter")
    assert "killed" not in batch.output("outliver")
    assert batch.host_connections == 0
    assert "escaped" not in batch.output("escaper")
    assert "setuid bit kept: False" in batch.output("leaker")
    for name in batch.rows:
        if name in NOT_GRADED:
            continue  # no folder of its own: batch.out / name is the class's file
        shown = everything_in(batch.out / name)
        for secret in batch.secrets:
            assert secret not in shown, name
        for other, mark in batch.marks.items():
            assert other == name or mark not in shown, (name, other)
    written_since = [
        path
        for path in [*ROOT.rglob("*"), *batch.out.glob("*")]
        if path.is_file() and path.stat().st_mtime >= batch.started and path.suffix != ".pyc"
    ]
    for path in written_since:
        text = path.read_text(errors="replace")
        assert not any(mark in text for mark in batch.marks.values()), path


def assert_reports_are_safe_to_open(batch: Batch) -> None:
    assert sorted(batch.rows) == sorted([*HONEST, *ATTACKERS])
    page = (batch.out / "summary.html").read_text()
    assert 'href="./javascript%3Aalert%28document.domain%29/report.html"' in page
    assert "\\x1b[31mred" in page
    for text in (page, (batch.out / "summary.csv").read_text(), batch.result.stderr):
        assert "\x1b" not in text
    with open(batch.out / "summary.csv", newline="") as file:
        cells = [cell for row in csv.reader(file) for cell in row]
    assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for cell in cells)
    noisy = batch.rows["=HYPERLINK(1)"]["reason"]
    assert noisy.startswith("exited with code 1 before listening on tcp port 8001: ")
    assert noisy.endswith("\\u202eevil"), "a bidi override, escaped"
    for row in batch.rows.values():
        assert str(ROOT) not in row["reason"] and "launcher" not in row["reason"], row


def test_without_a_sandbox_the_grader_warns_and_survives_a_killed_robot(tmp_path, monkeypatch):
    token = mark_processes(monkeypatch)
    classdir = tmp_path / "class"
    # Without a sandbox, the port is this test's own: other tests share its network.
    port = {"PORT": UNSANDBOXED_PORT}
    write_attacker(classdir / "robot_killer", ROBOT_KILLER, True, port, "")
    write_attacker(classdir / "honest", "", True, port, "")
    grade = [*GRADE[:3], str(UNSANDBOXED_PORT), *GRADE[4:]]
    result = run_grader(
        *grade, "--outputdir", tmp_path / "out", "--isolation", "none", *sorted(classdir.iterdir())
    )
    assert result.returncode == 0, result.stderr
    assert "WARNING: --isolation none: submissions run without a sandbox" in result.stderr
    rows = summary(tmp_path / "out")
    assert rows["honest"]["score"] == "100.0"
    assert rows["robot_killer"]["status"] == "error"
    # robot writes output.xml as it goes: killed, it leaves one cut short
    assert rows["robot_killer"]["reason"].startswith("its output.xml cannot be read")
    assert (
        "WARNING: submissions ran without a sandbox"
        in (tmp_path / "out" / "summary.html").read_text()
    )
    facts = json.loads((tmp_path / "out" / "grading.json").read_text())["runs"][0]
    assert facts["isolation"] == "none" and facts["warning"]
    wait_until(lambda: not leftovers(token), 5, "nothing left running")


def test_without_cgroups_the_limits_fall_back_to_a_uid_and_rlimits(tmp_path, monkeypatch):
    """A real condition: no cgroup hierarchy can be written (an empty, read-only
    /sys/fs/cgroup in a mount namespace of the grader's own)."""
    token = mark_processes(monkeypatch)
    # Graded first, under the uid the fork bomb gets next: what it leaves holding process
    # slots would leave the fork bomb none (RLIMIT_NPROC counts per uid).
    write_attacker(tmp_path / "class" / "a_token_dropper", TOKEN_DROPPER, True, {"HOLD": 100}, "")
    write_attacker(tmp_path / "class" / "fork_bomb", FORK_BOMB, True, {}, "")
    grader = [
        *[sys.executable, "-m", "grading", *GRADE, *LIMITS, "--jobs", "1"],
        *["--outputdir", str(tmp_path)],
    ]
    script = "mount -t tmpfs -o ro,size=4k none /sys/fs/cgroup && exec " + shlex.join(
        [*grader, *(str(path) for path in sorted((tmp_path / "class").iterdir()))]
    )
    result = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c", script],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    limits = json.loads((tmp_path / "grading.json").read_text())["runs"][0]["limits"]
    assert limits["processes"] == "64 for the whole submission (its own uid, rlimit)"
    assert limits["memory"] == "600 MB of address space per process (rlimit)"
    row = summary(tmp_path)["fork_bomb"]
    assert (row["status"], row["score"]) == ("graded", "100.0")
    log = "".join(path.read_text() for path in (tmp_path / "fork_bomb").glob("server-*.log"))
    assert "fork refused: BlockingIOError" in log
    assert int(log.split("forked ")[1].split()[0]) < 64
    wait_until(lambda: not leftovers(token), 5, "nothing left running")


def test_students_processes_are_the_first_the_oom_killer_takes(tmp_path):
    """Submissions' memory limits together may exceed the machine's RAM: when it runs out,
    the kernel must kill a student's process, never the judge's robot (whose verdict for
    a classmate would become an error)."""
    submission = tmp_path / "class" / "alice"
    shutil.copytree(CLASS / "alice", submission)
    report = 'print("oom_score_adj", open("/proc/self/oom_score_adj").read().strip(), flush=True)'
    (submission / "server.py").write_text(report + "\n" + SERVE)
    out = tmp_path / "out"
    result = run_grader(*GRADE, *LIMITS, "--outputdir", out, submission)
    assert result.returncode == 0, result.stderr
    assert "oom_score_adj 1000" in server_output(out, "alice")
    assert summary(out)["alice"]["score"] == "100.0"


def test_grading_is_refused_when_bwrap_is_missing(tmp_path):
    result = run_grader(
        *GRADE, "--outputdir", tmp_path / "out", "--bwrap", tmp_path / "no-bwrap", CLASS / "alice"
    )
    assert result.returncode == 2
    (line,) = result.stderr.splitlines()
    assert line.startswith("python -m grading: refused: cannot run bwrap at ")
    assert "pip install -r requirements.txt" in line and "--isolation none" in line
    assert not (tmp_path / "out").exists()


def test_grading_is_refused_without_user_namespaces(tmp_path):
    """A real condition: a user namespace that may create no more of them."""
    grader = [sys.executable, "-m", "grading", *GRADE, "--outputdir", str(tmp_path / "out")]
    script = "echo 0 > /proc/sys/user/max_user_namespaces && exec " + shlex.join(
        [*grader, str(CLASS / "alice")]
    )
    result = subprocess.run(
        ["unshare", "--user", "--map-root-user", "sh", "-c", script],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    line = lines[0]
    assert line.startswith("python -m grading: refused: the sandbox cannot be made here: unshare")
    assert "--isolation none" in line


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        (lambda path: path.unlink(), "the grading run wrote no output.xml"),
        (
            lambda path: path.write_bytes(path.read_bytes()[: path.stat().st_size // 2]),
            "its output.xml cannot be read",
        ),
        (lambda path: path.write_text("<robot><suite"), "its output.xml cannot be read"),
    ],
    ids=["missing", "truncated", "garbage"],
)
def test_unreadable_results_are_an_error_verdict(tmp_path, damage, reason):
    out = tmp_path / "out"
    result = run_grader(*GRADE, "--outputdir", out, CLASS / "alice")
    assert result.returncode == 0, result.stderr
    damage(out / "alice" / "output.xml")
    verdict = read_verdict("alice", out / "alice", timed_out=False, time_limit=300, seconds=1.0)
    assert (verdict.status, verdict.tests) == ("error", [])
    assert verdict.reason.startswith(reason)


def test_a_forged_verdict_file_is_an_error_in_a_merge(tmp_path):
    out = tmp_path / "out"
    result = run_grader(*GRADE, "--outputdir", out, CLASS / "alice")
    assert result.returncode == 0, result.stderr
    (out / "alice" / "verdict.json").write_text(
        '{"submission": "alice", "status": "graded", "tests": [{"name": 1}]}'
    )
    merged = run_grader("merge", "--outputdir", tmp_path / "merged", out)
    assert merged.returncode == 0, merged.stderr
    row = summary(tmp_path / "merged")["alice"]
    assert (row["status"], row["reason"]) == (
        "error",
        "its verdict.json cannot be read (TypeError)",
    )


def test_cgroups_are_made_and_removed_with_their_processes():
    cgroups = Cgroups.make(f"socketkit-test-{os.getpid()}")
    if cgroups is None:
        pytest.skip("no writable cgroup here")
    try:
        cgroup = cgroups.create("one", processes=8, memory_mb=64)
        child = subprocess.Popen(
            [sys.executable, "-c", "import signal; signal.pause()"],
            preexec_fn=lambda: [  # noqa: PLW1509 - joins before exec, single-threaded here
                Path(d, "cgroup.procs").write_text("0") for d in cgroup.directories.values()
            ],
        )
        wait_until(lambda: child.pid in _members(cgroup), 5, "the child in the cgroup")
        cgroup.remove()
        assert child.wait(5) == -signal.SIGKILL
        assert not any(d.exists() for d in cgroup.directories.values())
    finally:
        cgroups.remove()
    assert not any(parent.exists() for parent in cgroups.parents.values())


def _members(cgroup) -> list[int]:
    return [
        int(pid)
        for directory in cgroup.directories.values()
        for pid in (directory / "cgroup.procs").read_text().split()
    ]


def test_start_server_puts_the_graders_launcher_in_front_and_names_only_the_command(
    lib, monkeypatch
):
    """The launcher comes from the environment; no message or log names it."""
    monkeypatch.setenv(LAUNCHER_VARIABLE, json.dumps(["/usr/bin/env", "LAUNCHED=yes"]))
    command = f"{sys.executable} -c \"import os, sys; sys.exit(os.environ['LAUNCHED'])\""
    with pytest.raises(AssertionError) as failure:
        lib.start_server(command, 0, ready_timeout="5s")
    message = str(failure.value)
    assert message.startswith("server did not start: exited with code 1 before listening")
    assert message.endswith("yes"), "the launcher ran the command, which printed its variable"
    assert "/usr/bin/env" not in message


HIDDEN_SUITE = """\
*** Settings ***
Documentation       Two requirements in one suite of a folder, the first one hidden.
Resource            ${{ SocketLibrary.TARGET_RESOURCE }}
Suite Setup         Start Target Server    welcome_timeout    tcp
Suite Teardown      Stop Target Server
Test Teardown       Close All Connections
Test Timeout        ${TEST_TIMEOUT}


*** Test Cases ***
The Secret Requirement
    [Documentation]    Hidden from students.
    [Tags]    hidden
    Open Client
    Send    secret
    Reply Should Be    please go out!

Exactly 1 Is Welcome
    [Documentation]    Visible.
    Open Client
    Send    1
    Reply Should Be    welcome to server!
"""

CRASHES_ON_SECRET = """
    # Crashes on the hidden test's request, so that the visible test after it says when
    # the server ended, which must not name the hidden test.
    import socket, sys
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", 8001))
    server.listen(5)
    while True:
        conn, _ = server.accept()
        if conn.recv(1024) == b"secret":
            sys.exit(1)
        conn.sendall(b"welcome to server!")
        conn.close()
"""


def test_a_crash_in_a_hidden_test_does_not_name_it_in_a_visible_one(tmp_path):
    """In a folder of suites, where a test's name in the results has its suite's."""
    suites = tmp_path / "suites"
    suites.mkdir()
    (suites / "welcome.robot").write_text(HIDDEN_SUITE)
    write_attacker(tmp_path / "class" / "prober", CRASHES_ON_SECRET, False, {}, "")
    out = tmp_path / "out"
    result = run_grader(
        *["--suite", suites, *GRADE[2:]], "--outputdir", out, tmp_path / "class" / "prober"
    )
    assert result.returncode == 0, result.stderr
    verdict = Verdict.load(out / "prober")
    assert [test.name for test in verdict.tests] == [
        "Welcome.The Secret Requirement",
        "Welcome.Exactly 1 Is Welcome",
    ]
    hidden, shown = gradescope(verdict, {"hidden": "hidden"})["tests"]
    assert hidden["visibility"] == "hidden"
    assert "before this test, during a test shown later" in shown["output"]
    assert "Secret" not in shown["output"]
