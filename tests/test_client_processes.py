"""Clients under test as processes: Start Client and its checks, and the reference clients
against the reference servers. The client suites are judged against the reference clients
and every variant in ``tests/client_variants.py`` (the matrix in
``tests/client_verdicts.py``) by ``tests/test_client_stability.py``, run after run."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections import Counter

import pytest

from services import serve
from services.clients import CLIENTS
from services.protocols import ACK_TEXT
from SocketLibrary import SocketFailure
from tests.client_variants import VARIANTS
from tests.client_verdicts import (
    CLIENT_NAMES,
    EXPECTED_FAILURES,
    suite_tests,
)
from tests.helpers import ROOT, leftovers, logged_messages, mark_processes, run_robot

pytestmark = pytest.mark.slow

PRINT_ARGS = [sys.executable, "-c", "import sys; print(sys.argv[1:]); sys.exit(int(sys.argv[1]))"]


def failure_of(call, *args, **kwargs) -> str:
    with pytest.raises(SocketFailure) as failure:
        call(*args, **kwargs)
    return str(failure.value)


def run_reference_client(
    name: str, port: int, *arguments: str, typed: str = ""
) -> subprocess.CompletedProcess:
    """``python -m services.clients NAME --port PORT ARGUMENTS...``, ``typed`` on its stdin."""
    return subprocess.run(
        [sys.executable, "-m", "services.clients", name, "--port", str(port), *arguments],
        input=typed,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=30,
        check=False,
    )


# --- Start Client and its checks ----------------------------------------------------------


def test_stdout_stderr_and_exit_code_are_checked_apart(lib):
    script = "import sys; print('out'); print('err', file=sys.stderr); sys.exit(3)"
    lib.start_client([sys.executable, "-c", script])
    lib.client_exit_code_should_be(3)
    lib.client_output_should_be("out\n")
    lib.client_output_should_be("err\n", stream="stderr")
    assert lib.client_output_should_match(r"e.r", stream="stderr") == "err"
    message = failure_of(lib.client_exit_code_should_be, 0)
    assert message.startswith("Expected the client to exit with code 0, but it exited with code 3")
    assert "Its stderr ends with:\nerr" in message


def test_arguments_follow_the_command_unchanged(lib):
    lib.start_client(PRINT_ARGS, "0", "two words", "--port=1")
    lib.client_output_should_contain("['0', 'two words', '--port=1']")
    lib.client_exit_code_should_be(0)


def test_lines_are_fed_a_delay_apart_then_the_input_ends(lib):
    script = (
        "import sys, time\n"
        "for line in sys.stdin: print(repr(line), time.monotonic(), flush=True)\n"
        "print('end of input')"
    )
    fed = time.monotonic()  # the same clock in every process: the first line goes after this
    lib.start_client([sys.executable, "-c", script], lines=["one", "two", ""], delay="300ms")
    lib.client_output_should_contain("end of input", timeout="5s")
    printed = lib.get_client_output().splitlines()
    assert [line.split()[0] for line in printed[:3]] == ["'one\\n'", "'two\\n'", "'\\n'"]
    read_at = [float(line.split()[1]) - fed for line in printed[:3]]
    assert read_at[1] >= 0.3 and read_at[2] >= 0.6, read_at


def test_output_is_found_while_the_client_still_runs(lib):
    script = "import time; print('ready', flush=True); time.sleep(30)"  # idles: under test
    lib.start_client([sys.executable, "-c", script])
    lib.client_output_should_contain("ready", timeout="5s")
    started = time.monotonic()
    message = failure_of(lib.client_output_should_contain, "never", timeout="0.3s")
    assert time.monotonic() - started < 1
    assert message.startswith("Expected the client's stdout to contain 'never', but it printed")
    assert "is still running after" in message


def test_output_never_printed_fails_when_the_client_exits_not_at_the_timeout(lib):
    lib.start_client([sys.executable, "-c", "print('something else')"])
    started = time.monotonic()
    message = failure_of(lib.client_output_should_contain, "wanted", timeout="10s")
    assert time.monotonic() - started < 5
    assert message == (
        "Expected the client's stdout to contain 'wanted', but it printed "
        "'something else\\n' and exited with code 0"
    )


def test_a_client_that_does_not_exit_is_stopped_with_its_children(lib, monkeypatch):
    token = mark_processes(monkeypatch)
    # Both idle, as a client that never ends does.
    script = (
        "import subprocess, sys, time\n"
        "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
        "time.sleep(60)"
    )
    lib.start_client([sys.executable, "-c", script])
    message = failure_of(lib.wait_for_client, timeout="0.5s")
    assert message.startswith("The client did not exit within 500ms; it was stopped")
    assert leftovers(token, sys.executable) == []


def test_a_command_that_cannot_run_is_a_clear_failure(lib):
    message = failure_of(lib.start_client, "/no/such/client")
    assert message == "client did not start: cannot run /no/such/client: No such file or directory"


def test_no_thread_is_left_after_the_clients_stop(lib):
    threads = threading.active_count()
    script = "import sys; [print(line, end='', flush=True) for line in sys.stdin]"
    lib.start_client([sys.executable, "-c", script], lines=["a", "b", "c"], delay="10s")
    lib.client_output_should_contain("a\n")
    lib.stop_all_clients()
    lib.close_all_connections()
    assert threading.active_count() == threads


def test_output_files_are_kept_next_to_the_log(tmp_path):
    suite = tmp_path / "kept.robot"
    suite.write_text(
        "*** Settings ***\nLibrary    SocketLibrary\n\n*** Test Cases ***\nPrints\n"
        f"    Start Client    {sys.executable}    -c    print('kept')\n"
        "    Client Exit Code Should Be    0\n"
    )
    subprocess.run(
        [
            sys.executable,
            "-m",
            "robot",
            "--outputdir",
            str(tmp_path / "out"),
            "--console",
            "none",
            str(suite),
        ],
        check=True,
        timeout=60,
    )
    files = Counter(path.name.split("-")[0] for path in (tmp_path / "out").glob("client-*.log"))
    assert files == {"client": 2}  # stdout and stderr
    (stdout,) = (p for p in (tmp_path / "out").glob("client-*.log") if ".stderr" not in p.name)
    assert stdout.read_text() == "kept\n"


def test_a_long_argument_is_cut_in_the_log(tmp_path):
    """The command shows in three log lines (started, transcript, exited): each cuts a
    10,000-character argument after 300 and says how much more there was."""
    suite = tmp_path / "long.robot"
    suite.write_text(
        "*** Settings ***\nLibrary    SocketLibrary\n\n*** Test Cases ***\nLong\n"
        f"    Start Client    {sys.executable}    -c    pass    ${{{{ 'x' * 10000 }}}}\n"
        "    Client Exit Code Should Be    0\n"
        "    [Teardown]    Stop All Clients\n"
    )
    messages = logged_messages(run_robot(suite, tmp_path / "out"))
    shown = [m for m in messages if "x" * 300 in m]
    assert len(shown) >= 3, messages
    for message in shown:
        assert "x" * 301 not in message
        assert "... and 9700 more characters" in message


# --- assertion operators on the getters -----------------------------------------------------


def test_get_client_output_checks_with_an_assertion_operator(lib):
    script = "import sys; print('status 200'); print('done'); print('oops', file=sys.stderr)"
    lib.start_client([sys.executable, "-c", script])
    assert lib.get_client_output("stdout", "==", "status 200\ndone\n") == "status 200\ndone\n"
    lib.get_client_output("stdout", "contains", "done")
    lib.get_client_output("stdout", "^=", "status")
    lib.get_client_output("stderr", "not contains", "Traceback")
    # ^ and $ are a line's ends, as in Client Output Should Match; groups are returned
    assert lib.get_client_output("stdout", "matches", r"^status (\d+)$") == ("200",)
    message = failure_of(lib.get_client_output, "stderr", "not contains", "oops")
    assert message == (
        "Expected the client's stderr not to contain 'oops', but it printed 'oops\\n' and "
        "exited with code 0"
    )
    message = failure_of(lib.get_client_output, "stdout", "==", "status 200")
    assert message.startswith("Expected the client's stdout to be 'status 200', but it printed")


def test_get_client_exit_code_compares_numbers(lib):
    lib.start_client([sys.executable, "-c", "import sys; print('bye'); sys.exit(3)"])
    assert lib.get_client_exit_code() == 3
    assert lib.get_client_exit_code("==", "3") == 3
    lib.get_client_exit_code("!=", "0")
    lib.get_client_exit_code(">", "2")
    message = failure_of(lib.get_client_exit_code, "<=", "1")
    assert message == (
        "Expected the client's exit code to be less than or equal 1, but it exited with "
        "code 3\nIts stdout ends with:\nbye\nIts stderr is empty."
    )
    with pytest.raises(ValueError, match=r"'contains' is not allowed\. An exit code is compared"):
        lib.get_client_exit_code("contains", "3")


def test_a_getter_wants_an_operator_before_an_expected_value(lib):
    lib.start_client([sys.executable, "-c", "print('x')"])
    with pytest.raises(ValueError, match="'x' is not an assertion operator"):
        lib.get_client_output("stdout", "x")
    with pytest.raises(ValueError, match="'0' needs an assertion operator before it"):
        lib.get_client_exit_code(assertion_expected="0")


# --- a wait for the client ends when it has exited ----------------------------------------------


def test_a_udp_wait_fails_at_once_when_the_client_exits_without_sending(lib):
    lib.listen_on_udp_port()
    lib.start_client([sys.executable, "-c", "import sys; sys.exit('no route to the moon')"])
    started = time.monotonic()
    message = failure_of(lib.reply_should_be, "hello", timeout="20s")
    assert time.monotonic() - started < 10
    assert message == (
        "Expected 'hello' but the client exited with code 1 before sending anything\n"
        "Its stdout is empty.\nIts stderr ends with:\nno route to the moon"
    )


def test_a_datagram_sent_before_the_exit_is_read_and_only_then_the_wait_ends(lib):
    port = lib.listen_on_udp_port()
    script = (
        "import socket, sys\n"
        "udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
        f"udp.sendto(b'hello', ('127.0.0.1', {port}))\n"
        "print('sent')"
    )
    lib.start_client([sys.executable, "-c", script])
    lib.wait_for_client()  # it has exited before the wait begins: its datagram is still read
    lib.reply_should_be("hello", timeout="20s")
    lib.no_reply_within("100ms")  # silence still passes, after its whole time
    started = time.monotonic()
    message = failure_of(lib.receive, timeout="20s")
    assert time.monotonic() - started < 10
    assert message == (
        "Expected data but the client exited with code 0 before sending it\n"
        "Its stdout ends with:\nsent\nIts stderr is empty."
    )


@pytest.mark.parametrize("transport", ["tcp", "udp"])
def test_another_clients_exit_does_not_end_a_wait(lib, transport):
    """With two clients, the one that exited may not be the one the wait is for."""
    port = lib.listen_on_udp_port() if transport == "udp" else lib.listen_on_tcp_port()
    kind = "SOCK_DGRAM" if transport == "udp" else "SOCK_STREAM"
    script = (
        "import socket, sys, time\n"
        "time.sleep(1)  # the other client exits meanwhile\n"
        f"s = socket.socket(socket.AF_INET, socket.{kind})\n"
        f"s.connect(('127.0.0.1', {port}))\n"
        "s.sendall(b'hello')\n"
        "sys.stdin.read()"
    )
    lib.start_client([sys.executable, "-c", script], alias="slow")
    lib.start_client([sys.executable, "-c", "pass"], alias="quick")
    lib.wait_for_client(alias="quick")
    if transport == "tcp":
        lib.accept_connection(timeout="20s")
    lib.reply_should_be("hello", timeout="20s")


def test_a_wait_on_an_accepted_connection_ends_when_the_client_exits(lib):
    """No watch is needed on TCP: the client's exit closes its connection."""
    port = lib.listen_on_tcp_port()
    script = f"import socket; socket.create_connection(('127.0.0.1', {port}))"
    lib.start_client([sys.executable, "-c", script])
    lib.accept_connection()
    started = time.monotonic()
    message = failure_of(lib.reply_should_be, "hello", timeout="20s")
    assert time.monotonic() - started < 10
    assert message.startswith("Expected 'hello' but received nothing before the peer closed")


def test_accept_fails_at_once_when_the_client_exited_before_it(lib):
    port = lib.listen_on_tcp_port()
    lib.start_client([sys.executable, "-c", "import sys; sys.exit(4)"])
    lib.wait_for_client()
    started = time.monotonic()
    message = failure_of(lib.accept_connection, timeout="20s")
    assert time.monotonic() - started < 10
    assert message.startswith(
        f"no client connected to tcp 127.0.0.1:{port}: the client exited with code 4 without "
        f"connecting"
    )


def test_a_stopped_client_ends_no_wait(lib):
    """After Stop Client its exit is no news: a wait runs its course, for another peer."""
    port = lib.listen_on_tcp_port()
    lib.start_client([sys.executable, "-c", "import time; time.sleep(30)"])  # idles: stopped
    lib.stop_client()
    message = failure_of(lib.accept_connection, timeout="300ms")
    assert message == f"no client connected to tcp 127.0.0.1:{port} within 0.3s"
    lib.listen_on_udp_port()
    message = failure_of(lib.reply_should_be, "hello", timeout="300ms")
    assert message == "Expected 'hello' but received nothing within 300ms"


# --- in a robot run, where Robot decides which name=value is an option --------------------------

OPTIONS_SUITE = r"""
*** Settings ***
Library           SocketLibrary    timeout=5s
Test Teardown     Run Keywords    Stop All Clients    AND    Close All Connections

*** Variables ***
${PYTHON}         ${{ sys.executable }}
${ARGV}           import sys; print(sys.argv[1:])

*** Test Cases ***
Typo In A Start Client Option
    Start Client    ${PYTHON}    -c    ${ARGV}    timout=2s

Unescaped Client Argument With An Equals Sign
    Start Client    ${PYTHON}    -c    ${ARGV}    --port=1

Escaped Client Arguments Reach The Client
    Start Client    ${PYTHON}    -c    ${ARGV}    mode\=fast    --port\=1    alias=escaped
    Get Client Output    stdout    ==    ['mode=fast', '--port=1']\n    alias=escaped
    Client Output Should Contain    mode=fast

Arguments From A List Are Passed As They Are
    VAR    @{arguments}    mode=fast    timeout=2s
    Start Client    ${PYTHON} -c "${ARGV}" --port\=1    @{arguments}    timeout=10s
    Get Client Output    stdout    ==    ['--port=1', 'mode=fast', 'timeout=2s']\n

Typos In The Other Client Keywords
    Start Client    ${PYTHON}    -c    print('x')
    Run Keyword And Expect Error    Wait For Client got unknown option 'timout'*
    ...    Wait For Client    timout=2s
    Run Keyword And Expect Error    Get Client Output got unknown option 'aliass'*
    ...    Get Client Output    aliass=x
    Run Keyword And Expect Error    Get Client Exit Code got unknown option 'timout'*
    ...    Get Client Exit Code    ==    0    timout=2s
    Run Keyword And Expect Error    Client Output Should Contain got unknown option 'steam'*
    ...    Client Output Should Contain    x    steam=stderr
    Run Keyword And Expect Error    Client Exit Code Should Be got unknown option 'alais'*
    ...    Client Exit Code Should Be    0    alais=x
    Run Keyword And Expect Error    Stop Client got unknown option 'grase'*
    ...    Stop Client    grase=1s

Typos In The Listening Keywords
    Run Keyword And Expect Error    Listen On TCP Port got unknown option 'alais'*
    ...    Listen On TCP Port    0    alais=web
    Run Keyword And Expect Error    Listen On UDP Port got unknown option 'encodng'*
    ...    Listen On UDP Port    0    encodng=GBK
    Listen On TCP Port    0    127.0.0.1    alias=web
    Run Keyword And Expect Error    Accept Connection got unknown option 'timout'*
    ...    Accept Connection    timout=1s

Operators On The Client Getters
    Start Client    ${PYTHON}    -c    import sys; print('status 200'); sys.exit(3)
    Get Client Output    stdout    contains    status
    Get Client Output    stdout    validate    value.split()[1] == '200'
    ${code} =    Get Client Output    stdout    then    int(value.split()[1])
    Should Be Equal As Integers    ${code}    200
    Get Client Exit Code    ==    3
    Get Client Exit Code    validate    value in (2, 3)
    Client Exit Code Should Be    3
    Client Output Should Be    status 200\n
    Client Output Should Match    \\d+

A Failing Operator Says What The Client Printed
    Start Client    ${PYTHON}    -c    print('hello')
    Get Client Output    stdout    matches    ^bye$
"""

OPTIONS_FAIL_WITH = {
    "Typo In A Start Client Option": (
        "Start Client got unknown option 'timout' (did you mean 'timeout'?). Its options are "
        "named: cwd=…, env=…, stdin=…, lines=…, delay=…, alias=…, timeout=…, encoding=…. An '=' "
        "in the client's command or arguments is written as '\\=': timout\\=2s"
    ),
    "Unescaped Client Argument With An Equals Sign": (
        "Start Client got an extra argument '--port=1'. Its options are named: cwd=…, env=…, "
        "stdin=…, lines=…, delay=…, alias=…, timeout=…, encoding=…. An '=' in the client's "
        "command or arguments is written as '\\=': --port\\=1"
    ),
    "A Failing Operator Says What The Client Printed": (
        "Expected the client's stdout to match '^bye$', but it printed 'hello\\n' and exited "
        "with code 0"
    ),
}


def test_client_and_listening_options_in_a_robot_run(tmp_path):
    suite = tmp_path / "options.robot"
    suite.write_text(OPTIONS_SUITE, encoding="utf-8")
    result = run_robot(suite, tmp_path)
    tests = {test.name: test for test in result.suite.all_tests}
    assert len(tests) == 8
    for name, test in tests.items():
        if name in OPTIONS_FAIL_WITH:
            assert (test.status, test.message) == ("FAIL", OPTIONS_FAIL_WITH[name])
        else:
            assert test.status == "PASS", f"{name}: {test.message}"


# --- the reference clients against the reference servers ------------------------------------


def test_every_seed_client_has_a_reference_client_and_a_suite():
    assert set(CLIENTS) == set(CLIENT_NAMES)
    for name in CLIENT_NAMES:
        assert (ROOT / "suites" / "clients" / f"{name}.robot").exists()


@pytest.mark.parametrize(
    ("server", "client", "typed", "printed"),
    [
        (
            "echo",
            ["echo", "hello", "two words"],
            "",
            "Client received: Echo=>hello\nClient received: Echo=>two words\n",
        ),
        ("uppercase", ["uppercase"], "straße\n", "Input a lowercase sentence: STRASSE\n"),
        ("ack", ["ack"], "hello\n", f"> {ACK_TEXT}\n"),
    ],
)
def test_reference_clients_talk_to_the_reference_servers(server, client, typed, printed):
    with serve(server) as (_host, port):
        done = run_reference_client(client[0], port, *client[1:], typed=typed)
    assert (done.returncode, done.stdout, done.stderr) == (0, printed, "")


def test_the_timestamp_client_loops_until_an_empty_line():
    with serve("timestamp") as (_host, port):
        done = run_reference_client("timestamp", port, typed="first\nsecond\n\nnever sent\n")
    replies = done.stdout.split("> ")
    assert done.returncode == 0
    assert [reply[24:] for reply in replies[1:3]] == ["first\n", "second\n"]
    assert "never sent" not in done.stdout


def test_the_welcome_client_is_welcomed():
    with serve("welcome_timeout") as (_host, port):
        done = run_reference_client("welcome", port)
    assert (done.returncode, done.stdout) == (0, "welcome to server!\n")


@pytest.mark.parametrize("name", CLIENT_NAMES)
def test_a_socket_error_is_one_line_and_exit_code_1(name):
    with serve("echo") as (_host, port):
        pass  # the port is free again: nobody listens on it
    done = run_reference_client(name, port, typed="hello\n")
    assert done.returncode == 1
    assert done.stderr == f"{name}: " + (
        "Connection refused\n"
        if CLIENTS[name].transport == "udp"
        else f"cannot connect to 127.0.0.1:{port}: Connection refused\n"
    )


# --- the client suites: the references and every variant ----------------------------------


def test_every_client_variant_has_an_expectation():
    faulty = {name for name, variant in VARIANTS.items() if not variant.correct}
    assert faulty == set(EXPECTED_FAILURES)
    per_client = Counter(name.split(".")[0] for name in faulty)
    assert min(per_client[name] for name in CLIENT_NAMES) >= 3
    for target, expected in EXPECTED_FAILURES.items():
        tests = set(suite_tests(target.split(".")[0]))
        failing = expected(tests) if callable(expected) else expected
        assert failing and failing <= tests, target


def test_accept_fails_at_once_when_the_client_exits_without_connecting(lib):
    port = lib.listen_on_tcp_port()
    lib.start_client([sys.executable, "-c", "import sys; sys.exit('cannot connect')"])
    started = time.monotonic()
    message = failure_of(lib.accept_connection, timeout="20s")
    assert time.monotonic() - started < 10
    assert message == (
        f"no client connected to tcp 127.0.0.1:{port}: the client exited with code 1 without "
        f"connecting\nIts stdout is empty.\nIts stderr ends with:\ncannot connect"
    )


def test_a_client_that_connects_and_exits_at_once_is_still_accepted(lib):
    port = lib.listen_on_tcp_port()
    script = f"import socket; socket.create_connection(('127.0.0.1', {port})).sendall(b'hi')"
    lib.start_client([sys.executable, "-c", script])
    lib.wait_for_client()
    lib.accept_connection()
    lib.reply_should_be("hi")
    lib.connection_should_be_closed()
