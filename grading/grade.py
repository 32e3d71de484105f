"""Grade many submissions: each one is a ``robot`` run of the named suite against it.

Two trust domains (see the README's "Security model"). The judge, ``robot`` with the
keyword library, runs in ``judge.py``: one per batch, in a PID namespace of its own, which
starts Robot Framework once and forks each submission's ``robot`` from itself, in a
network namespace of the submission's own, so every submission has its own loopback and
can listen on the same port. The student's server runs below it in a bubblewrap sandbox
(``launcher.py``), which shares only that loopback with the judge, under limits that bind
the whole submission (``cgroups.py``).
With ``--isolation none`` nothing is isolated: submissions are trusted, and those that
share a port are graded one after another.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import signal
import subprocess
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from SocketLibrary.facts import FACTS_FILE, FactsError, read_facts
from SocketLibrary.handoff import launcher_environment
from SocketLibrary.processes import TOKEN_VARIABLE, kill_until_gone, processes_with_token

from .isolation import WORKDIR, Isolation, judge_namespaces
from .platforms import RESULTS_FILE, write_results
from .report import (
    CLASS_FILES,
    ERROR,
    GRADED,
    INTERRUPTED,
    VERDICT_FILE,
    Verdict,
    combined_report,
    read_runs,
    read_verdict,
    visible,
    write_summary,
)

ROOT = Path(__file__).resolve().parent.parent
JUDGE = ROOT / "grading" / "judge.py"
SUITES = ROOT / "suites"
CLIENT_SUITES = SUITES / "clients"
LISTENER = "grading.listener.Requirements"
TIMED_OUT = 124  # judge.py's code at the time limit
LOST = -1  # the judge went away with the job
# Time for robot to write its results after the time limit, and for the backstop after.
GRACE_SECONDS = 15
# Python runs signal handlers in the main thread only, when it runs bytecode; a bounded
# wait for results lets Ctrl-C in even when the kernel hands the signal to a worker.
SIGNAL_CHECK_SECONDS = 0.2
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@dataclass
class Settings:
    suite: Path  # a .robot file or a folder of them
    port: int
    command: str
    outputdir: Path
    jobs: int
    time_limit: float = 300.0
    include: list[str] = field(default_factory=list)
    exclude: list[str] = field(default_factory=list)
    variables: list[str] = field(default_factory=list)

    @property
    def suite_name(self) -> str:
        return self.suite.stem if self.suite.is_file() else self.suite.name


def bundled_suites() -> list[str]:
    """Server suites by behaviour (``echo``), client suites as ``clients/echo``."""
    servers = sorted(path.stem for path in SUITES.glob("*.robot"))
    return [*servers, *sorted(f"clients/{path.stem}" for path in CLIENT_SUITES.glob("*.robot"))]


def resolve_suite(value: str) -> Path:
    """A bundled suite by name (``echo``, ``clients/echo``), or a ``.robot`` file or a
    folder of suites."""
    if value in bundled_suites():
        return SUITES / f"{value}.robot"
    path = Path(value).expanduser()
    if path.is_dir() or (path.is_file() and path.suffix == ".robot"):
        return path.resolve()
    raise ValueError(
        f"--suite {value}: neither a bundled suite ({', '.join(bundled_suites())}) "
        f"nor a .robot file or a folder of suites"
    )


def default_jobs() -> int:
    """Suites mostly wait on sockets, and a submission costs the judge about 0.3 s of CPU
    (its robot, the launcher and the sandbox) in a run of 7 s or more, 4% of a core: 24
    runs per core keep the cores busy. Fewer leave a class that the slots do not hold for a
    second round, which starts only as the first runs end, and ends as its longest run."""
    return 24 * (os.cpu_count() or 1)


def shard(submissions: list[Path], spec: str | None) -> list[Path]:
    """``K/N``: every N-th submission by name, starting with the K-th (1-based)."""
    ordered = sorted(submissions, key=lambda path: path.name)
    if not spec:
        return ordered
    number, total = (int(part) for part in spec.split("/"))
    if not 1 <= number <= total:
        raise ValueError(f"shard {spec!r}: K must be between 1 and N")
    return ordered[number - 1 :: total]


def server_command(settings: Settings, directory: Path, isolation: Isolation) -> str:
    """The student's command, its ``{dir}`` filled in: the copy in the sandbox, if any."""
    where = WORKDIR if isolation.sandbox else str(directory)
    return settings.command.replace("{dir}", shlex.quote(where))


class JudgeLost(Exception):
    """The judge did not answer in time, or has gone: its jobs are lost with it."""


class Judge:
    """The judge process (``judge.py``) that runs a batch's jobs side by side.

    Robot Framework starts once per batch, not once per submission: the judge imports it
    and forks every job from itself. Every process a job starts carries the job's token,
    and the judge's, so that what a job leaves is swept after it, and what the judge
    leaves, after it. One thread reads the judge's answers and hands each to the job that
    waits for it."""

    def __init__(self, command: list[str], environment: dict[str, str]) -> None:
        self.token = uuid.uuid4().hex
        inherited = environment.get(TOKEN_VARIABLE, "")
        self.tokens = f"{inherited} {self.token}".strip()
        self.popen = subprocess.Popen(
            command,
            cwd=ROOT,
            env={**environment, TOKEN_VARIABLE: self.tokens},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            start_new_session=True,
        )
        self._waiting: dict[str, Future] = {}
        self._lock = threading.Lock()
        self._reader = threading.Thread(target=self._read_answers, daemon=True)
        self._reader.start()

    def _read_answers(self) -> None:
        for line in self.popen.stdout:
            answer = json.loads(line)
            with self._lock:
                future = self._waiting.pop(answer["id"], None)
            if future:
                future.set_result(int(answer["code"]))
        with self._lock:  # the judge has gone: so have the jobs it ran
            lost, self._waiting = list(self._waiting.values()), {}
        for future in lost:
            future.set_exception(JudgeLost("the judge has gone"))

    def run(self, job: dict, timeout: float) -> int:
        """Hand the judge a job and wait for robot's exit code."""
        future: Future = Future()
        job = {**job, "id": uuid.uuid4().hex}
        with self._lock:
            self._waiting[job["id"]] = future
            try:
                self.popen.stdin.write(json.dumps(job).encode() + b"\n")
                self.popen.stdin.flush()
            except OSError:
                del self._waiting[job["id"]]
                raise JudgeLost("the judge has gone") from None
        try:
            return future.result(timeout)
        except TimeoutError:
            raise JudgeLost(f"no answer within {timeout:g}s") from None

    def stop(self, grace: float) -> None:
        """End the judge (and so its PID namespace) and whatever carries its token."""
        with contextlib.suppress(OSError):
            self.popen.stdin.close()  # the judge ends once its last job has
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(timeout=grace)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.popen.pid, signal.SIGKILL)
        sweep(self.token)
        self.popen.wait()
        self._reader.join(5)


def sweep(token: str) -> None:
    """Kill every process that carries ``token``, wherever it moved."""
    kill_until_gone(lambda: processes_with_token(token))


class Batch:
    """The judge at work, so that an interrupted batch can stop it at once."""

    def __init__(self, command: list[str]) -> None:
        self.command = command  # that starts a judge
        self.interrupted = threading.Event()
        # Set by a signal handler, so a plain flag: a handler that takes a lock can
        # deadlock with the code it interrupted, and a raised KeyboardInterrupt can leave
        # a future's lock held.
        self.stop_requested = False
        self._judge: Judge | None = None
        self._lock = threading.Lock()

    def request_stop(self, *_: object) -> None:
        self.stop_requested = True

    @contextmanager
    def stopped_by_signals(self) -> Iterator[None]:
        """Ctrl-C and SIGTERM (a cancelled CI job) request a stop while this lasts."""
        previous = {signum: signal.signal(signum, self.request_stop) for signum in STOP_SIGNALS}
        try:
            yield
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)

    def judge(self) -> Judge | None:
        """The batch's judge, started when there is none; None once interrupted."""
        with self._lock:
            if self.interrupted.is_set():
                return None
            if self._judge is None:
                self._judge = Judge(self.command, dict(os.environ))
            return self._judge

    def discard(self, judge: Judge) -> None:
        """A judge that lost its jobs gets no more: the next job starts a new one."""
        with self._lock:
            if self._judge is judge:
                self._judge = None
        judge.stop(grace=0)

    def interrupt(self) -> None:
        """Start no more jobs and kill the running ones."""
        with self._lock:
            self.interrupted.set()
            judge, self._judge = self._judge, None
        if judge:
            judge.stop(grace=0)

    def close(self) -> None:
        with self._lock:
            judge, self._judge = self._judge, None
        if judge:
            judge.stop(grace=5)


class Interrupted(Exception):
    """Grading stopped early (Ctrl-C or SIGTERM); ``verdicts`` covers every submission."""

    def __init__(self, verdicts: list[Verdict]) -> None:
        super().__init__("grading was interrupted")
        self.verdicts = verdicts


def interrupted(directory: Path) -> Verdict:
    return Verdict(directory.name, INTERRUPTED, "not graded: the batch was interrupted")


def server_logs(out: Path) -> list[Path]:
    """The servers' output files that the run's facts name (none if they are unreadable),
    and the clients' (``Start Client`` names them ``client-*.log``)."""
    clients = sorted(out.glob("client-*.log"))
    try:
        servers = read_facts(out / FACTS_FILE)
    except FactsError:
        return clients
    return [*(out / server.log for server in servers if server.log), *clients]


def clear_earlier_results(out: Path) -> None:
    """Nothing from an earlier run may pass for this run's, should this one be stopped."""
    out.mkdir(parents=True, exist_ok=True)
    earlier = [*server_logs(out), out / FACTS_FILE, out / "output.xml"]
    for stale in (*earlier, out / VERDICT_FILE, out / RESULTS_FILE):
        stale.unlink(missing_ok=True)


def named_like_a_class_file(directory: Path) -> Verdict | None:
    """An ``error`` verdict for a folder named like a file the batch writes next to the
    submissions' folders (``summary.csv``): its results would take that file's place."""
    if directory.name not in CLASS_FILES:
        return None
    return Verdict(
        directory.name,
        ERROR,
        f"not graded: its folder has the name of the class's {directory.name}; rename it",
    )


def grade_one(directory: Path, settings: Settings, isolation: Isolation, batch: Batch) -> Verdict:
    """Grade one submission; its verdict is saved unless ``batch`` was interrupted.

    Whatever goes wrong on the way is this submission's ``error`` verdict, not the batch's
    end; the traceback, which names the grader's paths, goes to the grader's stderr only."""
    misnamed = named_like_a_class_file(directory)
    if misnamed:
        return misnamed  # not saved: its folder in the output would be a class file
    uid = isolation.take_uid()
    try:
        return _grade(directory, settings, isolation, batch, uid)
    except Exception as error:  # the rest of the class is still graded
        traceback.print_exc()
        verdict = Verdict(directory.name, ERROR, f"the grader failed ({type(error).__name__})")
        with contextlib.suppress(OSError):
            verdict.save(settings.outputdir / directory.name)
        return verdict
    finally:
        isolation.give_back_uid(uid)


def _grade(
    directory: Path, settings: Settings, isolation: Isolation, batch: Batch, uid: int
) -> Verdict:
    name = directory.name
    out = settings.outputdir / name
    robot = [
        "--name",
        name,
        "--outputdir",
        str(out),
        "--console",
        "dotted",
        "--listener",
        LISTENER,
        "--variable",
        f"SERVER_CMD:{server_command(settings, directory, isolation)}",
        "--variable",
        f"SERVER_CWD:{directory}",
        # The same command for a client suite: it plays the server, and runs the
        # student's client the way a server suite runs the student's server.
        "--variable",
        f"CLIENT_CMD:{server_command(settings, directory, isolation)}",
        "--variable",
        f"CLIENT_CWD:{directory}",
        "--variable",
        f"PORT:{settings.port}",
    ]
    for tag in settings.include:
        robot += ["--include", tag]
    for tag in settings.exclude:
        robot += ["--exclude", tag]
    for variable in settings.variables:
        robot += ["--variable", variable]
    judge = batch.judge()
    if judge is None:
        return interrupted(directory)
    started = time.monotonic()
    cgroup = isolation.cgroup(f"{uid}")
    token = uuid.uuid4().hex
    environment = {
        **launcher_environment(isolation.launcher(directory, uid, cgroup)),
        TOKEN_VARIABLE: f"{judge.tokens} {token}",
    }
    job = {
        "robot": [*robot, str(settings.suite)],
        "environment": environment,
        "log": str(out / "grading.log"),
        "time_limit": settings.time_limit,
        "grace": GRACE_SECONDS,
    }
    try:
        code = judge.run(job, timeout=settings.time_limit + 2 * GRACE_SECONDS)
    except JudgeLost:
        batch.discard(judge)
        code = TIMED_OUT if time.monotonic() - started >= settings.time_limit else LOST
    finally:
        sweep(token)  # whatever the job left, wherever it moved
        events = cgroup.events() if cgroup else {}
        if cgroup:
            cgroup.remove()
    if batch.interrupted.is_set():
        return interrupted(directory)
    notes = limit_notes(events, isolation)
    limit = isolation.limits.output_mb * 1024 * 1024
    if any(log.is_file() and log.stat().st_size >= limit for log in server_logs(out)):
        notes.append(f"its output reached the {isolation.limits.output_mb} MB limit and was cut")
    verdict = read_verdict(
        name,
        out,
        timed_out=code == TIMED_OUT,
        time_limit=settings.time_limit,
        seconds=time.monotonic() - started,
        notes=notes,
        hidden={
            str(ROOT): "<kit>",
            str(settings.outputdir): "<output>",
            sys.prefix: "<python>",
            str(directory): "<submission>",
        },
    )
    verdict.save(out)
    write_results(verdict, out)
    return verdict


def limit_notes(events: dict[str, int], isolation: Isolation) -> list[str]:
    """What the submission's cgroup counted, in the verdict's words."""
    notes = []
    if refused := events.get("forks refused"):
        notes.append(
            f"stopped by the process limit ({isolation.limits.processes} processes): "
            f"{refused} fork{'s' * (refused > 1)} refused"
        )
    if killed := events.get("killed for memory"):
        notes.append(
            f"stopped by the memory limit ({isolation.limits.memory_mb} MB): "
            f"{killed} process{'es' * (killed > 1)} killed"
        )
    return notes


class Progress:
    """One live line on a terminal; one line per submission otherwise."""

    def __init__(self, total: int, stream=sys.stderr) -> None:
        self.total, self.done, self.failing = total, 0, 0
        self.stream = stream
        self.live = stream.isatty()
        self.lock = threading.Lock()

    def update(self, verdict: Verdict) -> None:
        with self.lock:
            self.done += 1
            self.failing += verdict.status != GRADED or verdict.count("failed") > 0
            counts = f"{self.done}/{self.total} finished, {self.failing} with failures"
            if self.live:
                self.stream.write(f"\r{counts}   ")
                if self.done == self.total:
                    self.stream.write("\n")
            else:
                self.stream.write(
                    f"{counts}: {visible(verdict.submission)} {verdict.score:g} {verdict.status}\n"
                )
            self.stream.flush()


def grade_all(
    submissions: list[Path],
    settings: Settings,
    isolation: Isolation,
    say: Callable[[str], None] = print,
) -> list[Verdict]:
    settings.outputdir.mkdir(parents=True, exist_ok=True)
    jobs = settings.jobs
    if not isolation.sandbox and settings.port != 0 and jobs > 1:
        say(
            f"Submissions share port {settings.port} and cannot be isolated here, so they "
            f"are graded one after another."
        )
        jobs = 1
    progress = Progress(len(submissions))
    for path in submissions:
        if not named_like_a_class_file(path):
            clear_earlier_results(settings.outputdir / path.name)
    judge = [sys.executable, str(JUDGE)]
    batch = Batch([*judge_namespaces(), *judge, "--loopback"] if isolation.sandbox else judge)
    pool = ThreadPoolExecutor(max_workers=jobs)
    futures = {
        pool.submit(grade_one, path, settings, isolation, batch): path for path in submissions
    }
    with batch.stopped_by_signals():
        try:
            pending: set[Future] = set(futures)
            while pending and not batch.stop_requested:
                done, pending = wait(pending, SIGNAL_CHECK_SECONDS, return_when=FIRST_COMPLETED)
                for future in done:
                    progress.update(future.result())
            if batch.stop_requested:
                batch.interrupt()
        finally:
            pool.shutdown(cancel_futures=True)
            batch.close()
    verdicts = [
        interrupted(path) if future.cancelled() else future.result()
        for future, path in futures.items()
    ]
    graded = [
        verdict
        for verdict in verdicts
        if verdict.status != INTERRUPTED and verdict.submission not in CLASS_FILES
    ]
    title = f"{settings.suite_name}: {len(verdicts)} submissions"
    write_summary(
        verdicts,
        settings.outputdir,
        {v.submission: Path(v.submission, "report.html") for v in graded},
        title,
        [isolation.describe()],
    )
    combined_report(
        [settings.outputdir / v.submission / "output.xml" for v in graded if v.status != ERROR],
        settings.outputdir,
        title,
    )
    if batch.interrupted.is_set():
        raise Interrupted(verdicts)
    return verdicts


def merge(outputs: list[Path], merged: Path) -> list[Verdict]:
    """Combine shard output folders into one summary and one combined report."""
    merged.mkdir(parents=True, exist_ok=True)
    verdicts, reports, xmls, runs = [], {}, [], []
    for out in outputs:
        runs += [run for run in read_runs(out) if run not in runs]
        for verdict_file in sorted(out.glob(f"*/{VERDICT_FILE}")):
            verdict = Verdict.load(verdict_file.parent)
            if verdict.submission != verdict_file.parent.name:
                verdict = Verdict(
                    verdict_file.parent.name, ERROR, "its verdict.json names another submission"
                )
            if verdict.submission in reports:
                raise ValueError(f"{verdict.submission} appears in more than one output")
            verdicts.append(verdict)
            reports[verdict.submission] = Path(
                os.path.relpath(verdict_file.parent / "report.html", merged)
            )
            if verdict.status != ERROR:
                xmls.append(verdict_file.parent / "output.xml")
    title = f"{len(verdicts)} submissions, merged from {len(outputs)} outputs"
    write_summary(verdicts, merged, reports, title, runs)
    combined_report(xmls, merged, title)
    return verdicts
