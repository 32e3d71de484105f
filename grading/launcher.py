"""Start a student's server in its sandbox: ``launcher.py [options] -- CMD...``.

The grader hands this command line to the keyword library (``SocketLibrary.handoff``), and
``Start Server`` puts it in front of the student's command. It runs on the judge's side,
with the judge's Python and privileges, and is trusted code; the student's command is not.

With ``--isolation sandbox`` it:

- joins the submission's cgroups (``--cgroup``, made by the grader), sets the rlimits and
  the priority, and starts bubblewrap (``--bwrap``) in a process group of its own;
- has bubblewrap build the sandbox: its own mount, PID, IPC, UTS and cgroup namespaces, the
  judge's network namespace (a private loopback), no capabilities, no new privileges, a
  read-only ``/usr`` and ``/lib*``, a minimal ``/etc``, the command's interpreter prefix
  read-only where it lives outside ``/usr``, a fresh ``/proc`` and a minimal ``/dev``, and a
  size-capped tmpfs ``/tmp`` that holds a writable copy of the submission
  (:data:`WORKDIR`), the working directory. Nothing else of the host is visible;
- drops to ``--uid`` inside the sandbox (``setpriv``) and caps file sizes (``prlimit``);
- stays as the sandbox's parent until the last process in the sandbox has exited (a
  server that daemonizes keeps running): a stop signal is passed to every process in the
  sandbox, and it exits as the student's command did (a command killed by a signal kills
  this process with the same signal). If it is killed, the sandbox is not: the judge
  kills it through its cgroup and its PID namespace.

With ``--isolation none`` it only sets the rlimits and the priority, and becomes the
command: the submission is trusted. Standard library only, and nothing here prints the
judge's paths: whatever it prints goes to the student's output.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import select
import shutil
import signal
import stat
import struct
import sys

MB = 1024 * 1024
WORKDIR = "/tmp/submission"  # the copy of the submission, inside the sandbox
SHM_MB = 16  # /dev/shm, for POSIX semaphores (Python's multiprocessing locks)
MAX_FILES = 2000  # entries copied from a submission; each one is an open file for bwrap
MAX_PATH = 1024  # bytes of a path inside the submission
SYSTEM = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
# /etc entries a program may need; everything else there (shadow, ssh keys, sudoers,
# private keys, credentials) stays out. passwd and group are written afresh.
ETC = (
    "alternatives",
    "ca-certificates",
    "ca-certificates.conf",
    "debian_version",
    "gai.conf",
    "host.conf",
    "hosts",
    "ld.so.cache",
    "ld.so.conf",
    "ld.so.conf.d",
    "locale.alias",
    "localtime",
    "mime.types",
    "nsswitch.conf",
    "os-release",
    "protocols",
    "services",
    "ssl/certs",
    "ssl/openssl.cnf",
    "timezone",
)
ETC_PREFIXES = ("java-", "python3")  # JDK and Debian Python configuration
# The option ``Start Client`` adds (``SocketLibrary.handoff``); the module is stdlib-only.
ENDS_WITH_COMMAND = "--ends-with-command"
SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


# seccomp: a student may create no user namespace (an unprivileged process may, and would
# reach far more of the kernel: mounts, and "root" in it). Per machine: the audit arch and
# the numbers of clone, clone3 and unshare.
_ARCHES = {"x86_64": (0xC000003E, 56, 435, 272), "aarch64": (0xC00000B7, 220, 435, 97)}
_CLONE_NEWUSER = 0x10000000
# Signals whose default action kills no one: the launcher that raised one on itself would
# stop (SIGSTOP), or carry on. An exit code of 128 + one of them is only an exit code.
NOT_FATAL = {
    signal.SIGSTOP,
    signal.SIGTSTP,
    signal.SIGTTIN,
    signal.SIGTTOU,
    signal.SIGCONT,
    signal.SIGCHLD,
    signal.SIGURG,
    signal.SIGWINCH,
}
_X32_BIT = 0x40000000  # x86_64's x32 system calls


OOM_FIRST = 1000  # oom_score_adj's most: killed first; raising it needs no privilege


class Refused(Exception):
    """The sandbox cannot be made for this submission; the message is for the student."""


def set_limits(args: argparse.Namespace, *, file_size: bool) -> None:
    """Priority, rlimits and the OOM killer's preference for this process and everything
    it starts."""
    os.nice(args.nice)
    # When the machine runs out of memory (each submission's limit is its own; together
    # they may exceed the RAM), the kernel kills students' processes first, never the
    # judge's robot, which would turn a classmate's verdict into an error.
    with open("/proc/self/oom_score_adj", "w") as preference:
        preference.write(str(OOM_FIRST))
    resource.setrlimit(resource.RLIMIT_CPU, (args.cpu, args.cpu + 1))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if args.memory:
        resource.setrlimit(resource.RLIMIT_AS, (args.memory * MB, args.memory * MB))
    if args.processes:
        resource.setrlimit(resource.RLIMIT_NPROC, (args.processes, args.processes))
    if file_size:
        resource.setrlimit(resource.RLIMIT_FSIZE, (args.output * MB, args.output * MB))


class Plan:
    """bwrap's arguments, and the files they refer to by descriptor."""

    def __init__(self) -> None:
        self.args: list[str] = []
        self.fds: list[int] = []

    def add(self, *args: str) -> None:
        self.args += args

    def file(self, fd: int, destination: str, perms: int) -> None:
        self.fds.append(fd)
        self.add("--perms", f"{perms:04o}", "--file", str(fd), destination)

    def pipe(self, data: bytes) -> int:
        """A descriptor to read ``data`` from (a few hundred bytes: the pipe holds them)."""
        reader, writer = os.pipe()
        os.write(writer, data)
        os.close(writer)
        self.fds.append(reader)
        return reader

    def data(self, text: str, destination: str) -> None:
        self.add("--perms", "0644", "--file", str(self.pipe(text.encode())), destination)

    def directory(self, destination: str, perms: int = 0o755) -> None:
        self.add("--perms", f"{perms:04o}", "--dir", destination)

    def close(self) -> None:
        for fd in self.fds:
            with contextlib.suppress(OSError):
                os.close(fd)


def system_view(plan: Plan, uid: int) -> None:
    """Read-only system folders, a minimal /etc, /proc, /dev, and the capped /tmp."""
    for folder in SYSTEM:
        if os.path.islink(folder):
            plan.add("--symlink", os.readlink(folder), folder)
        elif os.path.isdir(folder):
            plan.add("--ro-bind", folder, folder)
    plan.directory("/etc")
    names = sorted({*ETC, *(name for name in os.listdir("/etc") if name.startswith(ETC_PREFIXES))})
    for name in names:
        source = f"/etc/{name}"
        if os.path.islink(source):
            plan.add("--symlink", os.readlink(source), source)
        elif os.path.exists(source):
            if "/" in name:
                plan.directory(os.path.dirname(source))
            plan.add("--ro-bind", source, source)
    plan.data(
        f"root:x:0:0:root:/root:/usr/sbin/nologin\n"
        f"student:x:{uid}:{uid}:student:/tmp:/usr/sbin/nologin\n"
        f"nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n",
        "/etc/passwd",
    )
    plan.data(f"root:x:0:\nstudent:x:{uid}:\nnogroup:x:65534:\n", "/etc/group")
    plan.add("--proc", "/proc", "--dev", "/dev")
    plan.add("--perms", "1777", "--size", str(SHM_MB * MB), "--tmpfs", "/dev/shm")


def interpreter(program: str, hidden: list[str]) -> tuple[str, str | None]:
    """The program to run and the install prefix to show read-only, if outside /usr.

    A bare name is looked up on the judge's PATH, the way the student's command would find
    it there, and the real file's prefix is shown (``<prefix>/bin/python3``). A virtual
    environment is never shown: its interpreter is its base installation's. A program
    given by an absolute path is run from its real location.
    """
    if "/" in program and not os.path.isabs(program):
        return program, None  # relative: inside the submission
    found = program if os.path.isabs(program) else shutil.which(program)
    if not found:
        return program, None
    real = os.path.realpath(found)
    if real.startswith(tuple(f"{folder}/" for folder in SYSTEM)):
        return program, None
    folder = os.path.dirname(real)
    prefix = os.path.dirname(folder) if os.path.basename(folder) == "bin" else folder
    usable = (
        os.path.isdir(os.path.join(prefix, "lib"))
        and not os.path.exists(os.path.join(prefix, "pyvenv.cfg"))
        and prefix != "/"
        and not any(_overlaps(prefix, path) for path in hidden)
    )
    if not usable:
        return program, None
    return (real if os.path.isabs(program) else program), prefix


def _overlaps(first: str, second: str) -> bool:
    first, second = os.path.realpath(first), os.path.realpath(second)
    return first == second or first.startswith(f"{second}/") or second.startswith(f"{first}/")


def show_prefix(plan: Plan, prefix: str) -> None:
    parts = prefix.strip("/").split("/")
    for depth in range(1, len(parts)):
        plan.directory("/" + "/".join(parts[:depth]))  # traversable, whatever the host's mode
    plan.add("--ro-bind", prefix, prefix)


def copy_submission(plan: Plan, submission: str, disk_mb: int) -> list[str]:
    """The submission's folders, regular files and symbolic links, copied into WORKDIR.

    Nothing is followed: a symbolic link is copied as a link (it resolves inside the
    sandbox), and FIFOs, devices, sockets and hard-linked files are left out (their names
    are returned).
    Permissions keep only the executable bit; set-user-ID and the like are dropped.
    """
    try:
        top = os.open(submission, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    except OSError as error:
        raise Refused(f"the submission folder cannot be opened: {error.strerror}") from None
    plan.fds.append(top)
    plan.directory(WORKDIR, 0o777)
    skipped: list[str] = []
    budget = {"bytes": disk_mb * MB, "entries": MAX_FILES}
    _copy_folder(plan, top, WORKDIR, "", budget, skipped)
    return skipped


def _copy_folder(
    plan: Plan, folder: int, destination: str, relative: str, budget: dict, skipped: list[str]
) -> None:
    with os.scandir(folder) as entries:
        listed = sorted(entries, key=lambda entry: entry.name)
    for entry in listed:
        name = f"{relative}{entry.name}"
        if len(os.fsencode(name)) > MAX_PATH:
            skipped.append(name[:60] + "...")
            continue
        budget["entries"] -= 1
        if budget["entries"] < 0:
            raise Refused(f"the submission has more than {MAX_FILES} files and folders")
        target = f"{destination}/{entry.name}"
        info = entry.stat(follow_symlinks=False)
        if stat.S_ISLNK(info.st_mode):
            plan.add("--symlink", os.readlink(entry.name, dir_fd=folder), target)
        elif stat.S_ISDIR(info.st_mode):
            inner = os.open(entry.name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=folder)
            plan.fds.append(inner)
            plan.directory(target, 0o777)
            _copy_folder(plan, inner, target, f"{name}/", budget, skipped)
        elif stat.S_ISREG(info.st_mode):
            fd = os.open(entry.name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=folder)
            opened = os.fstat(fd)
            # A hard link may be a host file that this process (root) can read and the
            # student may not; a replaced entry is not what was listed.
            if not stat.S_ISREG(opened.st_mode) or opened.st_nlink > 1:
                os.close(fd)
                skipped.append(name)
                continue
            budget["bytes"] -= opened.st_size
            if budget["bytes"] < 0:
                os.close(fd)
                raise Refused("the submission is larger than its disk limit")
            plan.file(fd, target, 0o777 if opened.st_mode & 0o111 else 0o666)
        else:
            skipped.append(name)


def seccomp_filter() -> bytes | None:
    """A BPF program that refuses new user namespaces, or None on an unknown machine.

    ``unshare`` and ``clone`` with CLONE_NEWUSER fail with EPERM; ``clone3``, whose flags a
    filter cannot read, fails with ENOSYS, so that the C library falls back to ``clone``
    (as in Docker's and Flatpak's filters). A system call of another architecture (a
    32-bit program) kills the process: its numbers would differ."""
    machine = _ARCHES.get(os.uname().machine)
    if not machine:
        return None
    arch, clone, clone3, unshare = machine
    load, equal, has_bits, give = 0x20, 0x15, 0x45, 0x06
    allow, kill = 0x7FFF0000, 0x80000000
    no_system_call, not_permitted = 0x00050000 | 38, 0x00050000 | 1  # ENOSYS, EPERM
    program = [  # (operation, jump if true, jump if false, value); jumps skip ahead
        (load, 0, 0, 4),  # 0: the architecture
        (equal, 1, 0, arch),  # 1: native: to 3
        (give, 0, 0, kill),  # 2
        (load, 0, 0, 0),  # 3: the system call's number
        (has_bits, 8, 0, _X32_BIT),  # 4: x32: to 13
        (equal, 7, 0, clone3),  # 5: to 13
        (equal, 2, 0, unshare),  # 6: to 9
        (equal, 1, 0, clone),  # 7: to 9
        (give, 0, 0, allow),  # 8
        (load, 0, 0, 16),  # 9: the flags, the low half of the first argument
        (has_bits, 1, 0, _CLONE_NEWUSER),  # 10: to 12
        (give, 0, 0, allow),  # 11
        (give, 0, 0, not_permitted),  # 12
        (give, 0, 0, no_system_call),  # 13
    ]
    return b"".join(struct.pack("=HBBI", *instruction) for instruction in program)


def sandbox_plan(args: argparse.Namespace, command: list[str]) -> tuple[Plan, list[str]]:
    """bwrap's arguments, and the command it runs inside the sandbox."""
    plan = Plan()
    try:
        plan.add(
            "--unshare-pid",
            "--unshare-ipc",
            "--unshare-uts",
            "--unshare-cgroup-try",
            "--hostname",
            "sandbox",
            "--new-session",
            "--cap-drop",
            "ALL",
        )
        if args.uid:
            for capability in ("CAP_SETUID", "CAP_SETGID", "CAP_SETPCAP"):
                plan.add("--cap-add", capability)  # for setpriv, which drops them all
        seccomp = seccomp_filter()
        if seccomp:
            plan.add("--seccomp", str(plan.pipe(seccomp)))
        system_view(plan, args.uid or os.getuid())
        program, prefix = interpreter(command[0], args.hide)
        if prefix:
            show_prefix(plan, prefix)
        plan.add("--perms", "1777", "--size", str(args.disk * MB), "--tmpfs", "/tmp")
        skipped = copy_submission(plan, args.submission, args.disk)
        search = f"{prefix}/bin:{SYSTEM_PATH}" if prefix else SYSTEM_PATH
        plan.add("--chdir", WORKDIR, "--clearenv")
        environment = {"PATH": search, "HOME": "/tmp", "LANG": "C.UTF-8", "USER": "student"}
        environment.update({name: os.environ[name] for name in args.pass_env if name in os.environ})
        for name, value in environment.items():
            plan.add("--setenv", name, value)
    except BaseException:
        plan.close()
        raise
    if skipped:
        shown = ", ".join(repr(name) for name in skipped[:5])
        print(f"sandbox: left out {len(skipped)} special or hard-linked files: {shown}", flush=True)
    inside = ["/usr/bin/prlimit", f"--fsize={args.output * MB}:{args.output * MB}", "--"]
    if args.uid:
        inside = [
            "/usr/bin/setpriv",
            f"--reuid={args.uid}",
            f"--regid={args.uid}",
            "--clear-groups",
            "--inh-caps=-all",
            "--bounding-set=-all",
            "--",
            *inside,
        ]
    return plan, [*inside, program, *command[1:]]


def run_sandboxed(args: argparse.Namespace, command: list[str]) -> int:
    plan, inside = sandbox_plan(args, command)
    status_read, status_write = os.pipe()
    args_read, args_write = os.pipe()
    plan.fds += [status_write, args_read]  # status_read stays with this process
    plan.add("--json-status-fd", str(status_write))
    # bwrap's options go through a pipe: /proc/1/cmdline in the sandbox shows none of them.
    resource.setrlimit(resource.RLIMIT_NOFILE, _enough_files(len(plan.fds) + 64))
    payload = b"\0".join(os.fsencode(arg) for arg in plan.args)
    child = os.fork()
    if child == 0:  # the child joins the cgroups, takes the limits and becomes bwrap
        try:
            os.close(args_write)
            os.setsid()  # a stop signal for the student's server must not kill bwrap
            for group in args.cgroup:
                with open(os.path.join(group, "cgroup.procs"), "w") as procs:
                    procs.write("0")
            set_limits(args, file_size=False)
            keep = {*plan.fds, args_read}
            for fd in keep:
                os.set_inheritable(fd, True)
            for name in os.listdir("/proc/self/fd"):
                if int(name) > 2 and int(name) not in keep:
                    with contextlib.suppress(OSError):
                        os.close(int(name))
            os.execve(args.bwrap, ["bwrap", "--args", str(args_read), "--", *inside], {})
        except BaseException as error:  # report and leave, whatever it was
            # The student reads this: the reason, and none of the judge's paths.
            why = getattr(error, "strerror", None) or type(error).__name__
            print(f"sandbox: cannot start: {why}", file=sys.stderr, flush=True)
        os._exit(126)
    os.close(args_read)
    os.close(status_write)
    plan.fds.remove(status_write)
    plan.fds.remove(args_read)
    _write_all(args_write, payload)
    plan.close()
    return supervise(child, status_read, ends_with_command=args.ends_with_command)


def _enough_files(count: int) -> tuple[int, int]:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and count > hard:
        raise Refused(f"the submission needs {count} open files to copy")
    return max(soft, count), hard


def _write_all(fd: int, payload: bytes) -> None:
    # bwrap may have failed early, and says why
    with os.fdopen(fd, "wb") as pipe, contextlib.suppress(BrokenPipeError):
        pipe.write(payload)


def supervise(child: int, status_fd: int, *, ends_with_command: bool = False) -> int:
    """Wait for bwrap; pass stop signals to the sandbox; return or re-raise its status.

    With ``ends_with_command`` (a client: it is done when its command exits), whatever
    the command left running in the sandbox is killed then, instead of waited for."""
    namespace: list[str] = []

    def pass_on(signum: int, _frame: object) -> None:
        if namespace:
            for pid in processes_in(namespace[0]):
                with contextlib.suppress(OSError):
                    os.kill(pid, signum)

    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, pass_on)
    statuses = _read_statuses(status_fd, namespace)
    code = os.waitstatus_to_exitcode(os.waitpid(child, 0)[1])
    # bwrap returns when the command exits; what it started may still run (a daemon).
    init = [status["child-pid"] for status in statuses if "child-pid" in status]
    if init:
        if ends_with_command:  # the sandbox's init takes its whole PID namespace with it
            with contextlib.suppress(OSError):
                os.kill(init[0], signal.SIGKILL)
        wait_for_exit(init[0])
    reported = [status["exit-code"] for status in statuses if "exit-code" in status]
    if code >= 0 and reported:
        code = reported[0]
        # bwrap reports a command killed by signal N as 128 + N, as shells do.
        if code > 128 and (code - 128) in signal.valid_signals():
            code = 128 - code
    if code < 0 and -code not in NOT_FATAL:  # die the same way, so the library names it
        with contextlib.suppress(OSError):  # SIGKILL's handler is the default, and fixed
            signal.signal(-code, signal.SIG_DFL)
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        os.kill(os.getpid(), -code)
    # Still here: a signal that kills no one (the student's "exit(147)"), so an exit code.
    return 128 - code if code < 0 else code


def wait_for_exit(pid: int) -> None:
    """Block until ``pid`` (the sandbox's init, which ends with its last process) exits."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return
    try:
        select.select([fd], [], [])
    finally:
        os.close(fd)


def _read_statuses(fd: int, namespace: list[str]) -> list[dict]:
    """bwrap's JSON status documents, until it closes the pipe (when it exits)."""
    statuses, buffer = [], b""
    decoder = json.JSONDecoder()
    with os.fdopen(fd, "rb", buffering=0) as pipe:
        while True:
            try:
                chunk = pipe.read(4096)
            except InterruptedError:
                continue
            if not chunk:
                break
            buffer += chunk
            text = buffer.decode(errors="replace").lstrip()
            while text:
                try:
                    document, end = decoder.raw_decode(text)
                except json.JSONDecodeError:
                    break
                statuses.append(document)
                if "pid-namespace" in document and not namespace:
                    namespace.append(f"pid:[{document['pid-namespace']}]")
                text = text[end:].lstrip()
            buffer = text.encode()
    return statuses


def processes_in(namespace: str) -> list[int]:
    """Processes of the sandbox's PID namespace but its init (bwrap's, which ignores them)."""
    pids = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if os.readlink(f"/proc/{entry.name}/ns/pid") != namespace:
                    continue
                with open(f"/proc/{entry.name}/status") as status:
                    nspid = next(line for line in status if line.startswith("NSpid:"))
                if nspid.split()[-1] != "1":
                    pids.append(int(entry.name))
    return pids


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="launcher.py", description=__doc__)
    parser.add_argument("--isolation", choices=["sandbox", "none"], default="sandbox")
    parser.add_argument("--submission", help="the folder copied into the sandbox")
    parser.add_argument("--bwrap", help="the bubblewrap executable")
    parser.add_argument("--uid", type=int, default=0, help="the student's uid (as root)")
    parser.add_argument("--cgroup", action="append", default=[], help="a cgroup to join")
    parser.add_argument("--disk", type=int, default=100, help="size of /tmp, MB")
    parser.add_argument("--hide", action="append", default=[], help="never shown inside")
    parser.add_argument("--pass-env", action="append", default=[], metavar="NAME")
    parser.add_argument("--cpu", type=int, required=True, help="CPU seconds per process")
    parser.add_argument("--memory", type=int, default=0, help="address space per process, MB")
    parser.add_argument("--processes", type=int, default=0, help="RLIMIT_NPROC (as root)")
    parser.add_argument("--output", type=int, required=True, help="largest file written, MB")
    parser.add_argument("--nice", type=int, default=10)
    parser.add_argument(
        ENDS_WITH_COMMAND,
        action="store_true",
        help="a client: when the command exits, kill what it left in the sandbox and exit",
    )
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no command given")
    if args.isolation == "none":
        set_limits(args, file_size=True)
        try:
            os.execvp(command[0], command)
        except OSError as error:
            print(f"cannot run {command[0]}: {error.strerror}", file=sys.stderr)
            return 127
    try:
        return run_sandboxed(args, command)
    except Refused as refusal:
        print(f"sandbox: {refusal}", file=sys.stderr, flush=True)
        return 1


if __name__ == "__main__":
    sys.exit(main())
