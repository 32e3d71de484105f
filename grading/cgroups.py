"""Process and memory limits for a whole submission: one cgroup per submission.

The grader makes a cgroup for each submission before its run and removes it after, killing
whatever is left in it, so nothing a submission started outlives its grading even when
the launcher was killed. The launcher's child joins it before it starts the sandbox.
cgroup v2 is used where its ``pids`` and ``memory`` controllers are available, else the
v1 hierarchies of those controllers, whichever of them are mounted and writable.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path

from SocketLibrary.processes import kill_until_gone

MB = 1024 * 1024
CONTROLLERS = ("pids", "memory")


def _mounts() -> list[tuple[str, str, set[str]]]:
    """(filesystem type, mount point, super options) of every cgroup mount."""
    found = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        before, _, after = line.partition(" - ")
        fstype, _source, options = [*after.split(), "", ""][:3]
        if fstype in ("cgroup", "cgroup2"):
            found.append((fstype, before.split()[4], set(options.split(","))))
    return found


def _own_paths() -> dict[str, str]:
    """This process's cgroup per v1 controller, and ``""`` for v2."""
    paths = {}
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        for controller in controllers.split(",") if controllers else [""]:
            paths[controller] = path
    return paths


@dataclass
class Cgroup:
    """One submission's cgroup: a directory per hierarchy (one for v2)."""

    version: int
    directories: dict[str, Path]  # controller (or "" for v2) -> directory

    def events(self) -> dict[str, int]:
        """How often the limits bit: forks refused, processes killed for memory."""
        counts = {"forks refused": 0, "killed for memory": 0}
        pids = self.directories.get("pids") or self.directories.get("")
        memory = self.directories.get("memory") or self.directories.get("")
        if pids:
            counts["forks refused"] = _field(pids / "pids.events", "max")
        if memory:
            name = "memory.events" if self.version == 2 else "memory.oom_control"
            counts["killed for memory"] = _field(memory / name, "oom_kill")
        return counts

    def remove(self) -> None:
        """Kill every process left in it, then remove it."""
        for directory in self.directories.values():
            if self.version == 2:
                with contextlib.suppress(OSError):
                    (directory / "cgroup.kill").write_text("1")
            kill_until_gone(lambda directory=directory: _members(directory))
            with contextlib.suppress(OSError):
                directory.rmdir()


def _field(path: Path, name: str) -> int:
    with contextlib.suppress(OSError, ValueError):
        for line in path.read_text().splitlines():
            key, _, value = line.partition(" ")
            if key == name:
                return int(value)
    return 0


def _members(directory: Path) -> list[int]:
    with contextlib.suppress(OSError):
        return [int(pid) for pid in (directory / "cgroup.procs").read_text().split()]
    return []


class Cgroups:
    """The grader's parent cgroups, under which each submission gets its own."""

    def __init__(self, version: int, parents: dict[str, Path]) -> None:
        self.version = version
        self.parents = parents

    @classmethod
    def make(cls, name: str) -> Cgroups | None:
        """Parents named ``name`` in every writable hierarchy, or None where none is."""
        mounts = _mounts()
        own = _own_paths()
        for fstype, point, _options in mounts:
            if fstype != "cgroup2":
                continue
            try:
                available = set(Path(point, "cgroup.controllers").read_text().split())
            except OSError:
                continue
            if set(CONTROLLERS) <= available:
                # v2 lets no cgroup with processes delegate controllers, so the parent
                # goes at the top, which only root may write.
                parent = Path(point, name)
                with contextlib.suppress(OSError):
                    parent.mkdir()
                    (parent / "cgroup.subtree_control").write_text("+pids +memory")
                    return cls(2, {"": parent})
                with contextlib.suppress(OSError):
                    parent.rmdir()
        parents = {}
        for controller in CONTROLLERS:
            for fstype, point, options in mounts:
                if fstype == "cgroup" and controller in options and controller in own:
                    parent = Path(point, own[controller].lstrip("/"), name)
                    with contextlib.suppress(OSError):
                        parent.mkdir()
                        parents[controller] = parent
                    break
        return cls(1, parents) if parents else None

    def describe(self) -> str:
        return f"cgroup v{self.version}"

    def limits(self, controller: str) -> bool:
        return self.version == 2 or controller in self.parents

    def create(self, name: str, processes: int, memory_mb: int) -> Cgroup:
        directories = {}
        for controller, parent in self.parents.items():
            directory = parent / name
            directory.mkdir(exist_ok=True)
            directories[controller] = directory
            if controller in ("pids", ""):
                (directory / "pids.max").write_text(str(processes))
            if controller == "memory":
                (directory / "memory.limit_in_bytes").write_text(str(memory_mb * MB))
                swap = directory / "memory.memsw.limit_in_bytes"
                if swap.exists():
                    swap.write_text(str(memory_mb * MB))
            if controller == "":
                (directory / "memory.max").write_text(str(memory_mb * MB))
                (directory / "memory.swap.max").write_text("0")
        return Cgroup(self.version, directories)

    def remove(self) -> None:
        for parent in self.parents.values():
            for child in [path for path in parent.iterdir() if path.is_dir()]:
                Cgroup(self.version, {"": child}).remove()
            with contextlib.suppress(OSError):
                parent.rmdir()
