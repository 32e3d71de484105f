"""One kit, one import path: each module is loaded once, under one name."""

from __future__ import annotations

import subprocess
import sys

import grading.grade
import SocketLibrary.processes
from SocketLibrary import library


def test_the_grader_and_the_library_share_one_process_module():
    assert grading.grade.processes_with_token is SocketLibrary.processes.processes_with_token
    assert library.ProcessError is SocketLibrary.processes.ProcessError
    assert not [name for name in sys.modules if name.startswith("keywords")]


def test_process_management_loads_without_robot_framework():
    probe = "import sys, SocketLibrary.processes; print('robot' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=30, check=True
    )
    assert result.stdout.strip() == "False"


def test_the_library_is_imported_by_name():
    assert library.SocketLibrary.ROBOT_LIBRARY_SCOPE == "SUITE"
    assert SocketLibrary.SocketLibrary is library.SocketLibrary
