"""Tests for gradekit.sandbox and gradekit.kernel: the command line the kernel runs under, its environment, and
what a real sandboxed kernel can and cannot do (one module-scoped kernel; each test sends code to it).

The timeout tests need kernels of their own, because a cell past its limit may cost the kernel.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path
from types import SimpleNamespace

import pytest

from gradekit.cgroups import JOIN_SCRIPT
from gradekit.kernel import KernelDied, KernelSession
from gradekit.sandbox import SYS_PATHS, SYSTEM_PATHS, Limits, Sandbox, bwrap_available

ROOT = Path(__file__).resolve().parents[1]
CMD = ["/usr/bin/python3", "-m", "ipykernel_launcher", "-f", "/tmp/kernel.json"]
SECRET_ENV = "GK_TEST_FAKE_SECRET"

needs_bwrap = pytest.mark.skipif(not bwrap_available(), reason="bubblewrap (bwrap) cannot create namespaces on "
                                 "this machine; CI installs it and these tests run there")
needs_prlimit = pytest.mark.skipif(shutil.which("prlimit") is None, reason="prlimit (util-linux) is not installed")



@pytest.fixture
def make_sandbox(tmp_path):
    made = []

    def make(**kwargs) -> Sandbox:
        scratch = tmp_path / "scratch"
        scratch.mkdir(exist_ok=True)
        sandbox = Sandbox(scratch=scratch, **kwargs)
        made.append(sandbox)
        return sandbox

    yield make
    for sandbox in made:
        sandbox.cleanup()


def command(sandbox: Sandbox, cmd: list[str] = CMD) -> list[str]:
    """The kernel's command line after the memory cgroup's join (`test_the_kernel_joins_its_cgroup_first`)."""
    wrapped = sandbox.wrap(cmd)
    return wrapped[4:] if wrapped[:3] == ["/bin/sh", "-c", JOIN_SCRIPT] else wrapped


def after_dashes(args: list[str]) -> list[str]:
    return args[len(args) - args[::-1].index("--"):]


def option_values(args: list[str], option: str, count: int = 1) -> list[tuple[str, ...]]:
    return [tuple(args[i + 1:i + 1 + count]) for i, a in enumerate(args) if a == option]


# ------------------------------------------------------------------------------------------ the command line


@needs_prlimit
def test_wrap_off_keeps_the_command_after_prlimit_limits(make_sandbox):
    wrapped = command(make_sandbox(mode="off"))
    assert Path(wrapped[0]).name == "prlimit"
    assert after_dashes(wrapped) == CMD
    assert set(Limits().prlimit_args()) <= set(wrapped[:wrapped.index("--")])


def test_wrap_off_does_not_use_bubblewrap(make_sandbox):
    sandbox = make_sandbox(mode="off")
    assert "bwrap" not in command(sandbox)
    assert not sandbox.enabled


def test_sandbox_off_is_noted_for_the_report(make_sandbox):
    assert "off" in make_sandbox(mode="off").note


def test_default_address_space_limit_leaves_room_for_torch():
    assert Limits().address_space >= 6 * 2**30  # importing torch needs about 5 GB of address space


def test_unknown_mode_is_rejected(tmp_path):
    with pytest.raises(ValueError):
        Sandbox(scratch=tmp_path, mode="maybe")


@needs_bwrap
def test_bwrap_wrap_unshares_everything_and_dies_with_parent(make_sandbox):
    wrapped = command(make_sandbox(mode="on"))
    assert wrapped[0] == "bwrap"
    outer = wrapped[:wrapped.index("--")]
    assert "--unshare-all" in outer or {"--unshare-net", "--unshare-pid", "--unshare-ipc"} <= set(outer)
    assert "--die-with-parent" in outer


@needs_bwrap
@pytest.mark.root_only  # the uid drop applies when the grader runs as root
def test_as_root_the_kernel_runs_as_an_unprivileged_uid_without_capabilities(make_sandbox):
    sandbox = make_sandbox(mode="on")
    assert sandbox.isolation == "uid"
    wrapped = command(sandbox)
    setpriv = wrapped.index("setpriv")
    assert f"--reuid={sandbox.uid}" in wrapped[setpriv:] and "--bounding-set=-all" in wrapped[setpriv:]
    assert sandbox.uid != 0


@needs_bwrap
@pytest.mark.root_only
def test_each_kernel_has_a_uid_of_its_own_and_gives_it_back(make_sandbox):
    first, second = make_sandbox(mode="on"), make_sandbox(mode="on")
    assert first.uid != second.uid
    uid = second.uid
    second.cleanup()
    assert make_sandbox(mode="on").uid == uid


@needs_bwrap
@pytest.mark.root_only
def test_a_fork_bomb_in_one_kernel_leaves_the_process_limit_of_another_alone(make_sandbox, monkeypatch):
    """RLIMIT_NPROC counts a uid's processes machine-wide: with a shared uid, a notebook graded beside a fork
    bomb could not start a thread. Here the inner user namespace keeps separate counts, so it is switched off,
    as it is on machines that cannot make one."""
    monkeypatch.setattr(Sandbox, "_inner_userns_block", lambda self: False)
    bomb, honest = make_sandbox(mode="on"), make_sandbox(mode="on", memory_guard="off")
    holder = ("import os, time\nn = 0\nwhile True:\n    try:\n        pid = os.fork()\n    except OSError:\n"
              "        print(n, flush=True); time.sleep(30); break\n"
              "    if pid == 0:\n        time.sleep(30); os._exit(0)\n    n += 1\n")
    proc = subprocess.Popen(bomb.wrap([sys.executable, "-c", holder]), stdout=subprocess.PIPE, text=True)
    try:
        forked = int(proc.stdout.readline())  # the bomb now holds every process its uid may have
        assert forked >= bomb.limits.processes - 5  # all but the few its wrappers hold
        thread = "import threading; t = threading.Thread(target=print, args=('thread ran',)); t.start(); t.join()"
        out = subprocess.run(honest.wrap([sys.executable, "-c", thread]), capture_output=True, text=True, timeout=60)
        assert out.stdout.strip() == "thread ran", out.stderr[-500:]
    finally:
        proc.kill()
        proc.wait()


@needs_bwrap
def test_bwrap_wrap_still_runs_the_command_under_prlimit(make_sandbox):
    wrapped = command(make_sandbox(mode="on"))
    assert after_dashes(wrapped) == CMD
    assert any(Path(a).name == "prlimit" for a in wrapped)


@needs_bwrap
def test_bwrap_wrap_mounts_no_hidden_path(make_sandbox, tmp_path):
    """The sandbox starts from an empty root: a hidden folder is simply never mounted."""
    hidden = [tmp_path / "graders", tmp_path / "reference", tmp_path / "submissions"]
    for path in hidden:
        path.mkdir()
    args = command(make_sandbox(mode="on", hidden=hidden))
    assert not {str(p.resolve()) for p in hidden} & set(args)


@needs_bwrap
def test_bwrap_wrap_covers_a_hidden_path_inside_a_readable_one(make_sandbox, tmp_path):
    readable, inside = tmp_path / "models", tmp_path / "models" / "answers"
    inside.mkdir(parents=True)
    args = command(make_sandbox(mode="on", readable=[readable], hidden=[inside]))
    assert (str(readable), str(readable)) in option_values(args, "--ro-bind", 2)
    assert (str(inside),) in option_values(args, "--tmpfs") and (str(inside),) in option_values(args, "--remount-ro")


@needs_bwrap
def test_bwrap_wrap_mounts_only_the_system_the_interpreter_and_the_kernels_folders(make_sandbox):
    """What the kernel sees of the host, and nothing else: no /run, /var, /home (the host's unix sockets)."""
    sandbox = make_sandbox(mode="on")
    args = command(sandbox)
    mounted = {v[1] for v in option_values(args, "--ro-bind", 2) + option_values(args, "--bind", 2)}
    mounted |= {v[1] for v in option_values(args, "--symlink", 2)}
    allowed = (*SYSTEM_PATHS, "/etc", *SYS_PATHS, *map(str, sandbox._prefixes()), str(sandbox.scratch),
               str(sandbox.ipc_dir), str(sandbox.inbox))
    assert all(any(Path(m).is_relative_to(a) for a in allowed) for m in mounted), mounted
    assert not [m for m in mounted if Path(m).is_relative_to("/run") or Path(m).is_relative_to("/var")]
    assert "/" not in mounted


@needs_bwrap
def test_bwrap_wrap_binds_only_the_ipc_folder_writable(make_sandbox):
    sandbox = make_sandbox(mode="on")
    binds = option_values(command(sandbox), "--bind", 2)
    assert binds == [(str(sandbox.ipc_dir), str(sandbox.ipc_dir))]  # nothing else of the host is writable


@needs_bwrap
def test_bwrap_wrap_makes_the_scratch_folder_a_size_capped_tmpfs(make_sandbox):
    sandbox = make_sandbox(mode="on")
    wrapped = command(sandbox)
    at = next(i for i in range(len(wrapped) - 1) if wrapped[i:i + 2] == ["--tmpfs", str(sandbox.scratch)])
    assert wrapped[at - 2:at] == ["--size", str(sandbox.limits.scratch_bytes)]


@needs_bwrap
def test_bwrap_wrap_shows_the_hosts_files_read_only_in_the_scratch_folder(make_sandbox):
    sandbox = make_sandbox(mode="on")
    (sandbox.scratch / "data").mkdir()
    assert (str(sandbox.scratch / "data"),) * 2 in option_values(command(sandbox), "--ro-bind", 2)


@needs_bwrap
def test_bwrap_wrap_starts_in_the_scratch_folder(make_sandbox):
    sandbox = make_sandbox(mode="on")
    assert set(option_values(command(sandbox), "--chdir")) == {(str(sandbox.scratch),)}


@needs_bwrap
def test_bwrap_wrap_mounts_the_interpreter_not_the_folder_around_it(make_sandbox):
    """A virtual environment inside the project: the environment is mounted, the project (its parent) is not."""
    prefix = Path(sys.prefix).resolve()
    wrapped = command(make_sandbox(mode="on", hidden=[prefix.parent]))
    binds = option_values(wrapped, "--ro-bind", 2)
    assert (str(prefix), str(prefix)) in binds
    assert (str(prefix.parent), str(prefix.parent)) not in binds


@needs_bwrap
def test_bwrap_wrap_rebinds_the_interpreter_after_the_tmp_mount(make_sandbox):
    """A checkout (and its .venv) under /tmp must not vanish behind the sandbox's private /tmp."""
    wrapped = command(make_sandbox(mode="on"))
    prefix = str(Path(sys.prefix).resolve())
    tmp_at = next(i for i in range(len(wrapped) - 1) if wrapped[i:i + 2] == ["--tmpfs", "/tmp"])
    rebinds = [i for i in range(len(wrapped) - 2) if wrapped[i:i + 3] == ["--ro-bind", prefix, prefix]]
    assert rebinds and rebinds[0] > tmp_at


@needs_bwrap
def test_kernel_starts_from_a_venv_under_tmp(tmp_path):
    """The case CI hit: a clone under /tmp, its virtual environment inside it."""
    import subprocess

    venv = Path(tempfile.mkdtemp(prefix="gk-venv-", dir="/tmp"))
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True)
    python = venv / "bin" / "python"
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    code = ("import sys; from gradekit.sandbox import Sandbox; sb = Sandbox(scratch=sys.argv[1], mode='on'); "
            "import subprocess; print(subprocess.run(sb.wrap([sys.executable, '-c', 'print(40 + 2)']), "
            "capture_output=True, text=True).stdout.strip())")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    out = subprocess.run([str(python), "-c", code, str(scratch)], capture_output=True, text=True, env=env)
    assert out.stdout.strip() == "42", out.stderr[-500:]


# ------------------------------------------------------------------------------------------ the environment


def test_kernel_env_drops_unrelated_variables(make_sandbox):
    env = make_sandbox(mode="off").kernel_env({"PATH": "/usr/bin", SECRET_ENV: "hunter2",
                                               "AWS_SECRET_ACCESS_KEY": "x", "GITHUB_TOKEN": "y"})
    assert env["PATH"] == "/usr/bin"
    assert SECRET_ENV not in env
    assert "AWS_SECRET_ACCESS_KEY" not in env
    assert "GITHUB_TOKEN" not in env


def test_kernel_env_from_the_real_environment_drops_a_secret(make_sandbox, monkeypatch):
    monkeypatch.setenv(SECRET_ENV, "hunter2")
    assert SECRET_ENV not in make_sandbox(mode="off").kernel_env(os.environ)


def test_kernel_env_home_is_inside_the_scratch_folder(make_sandbox):
    sandbox = make_sandbox(mode="off")
    env = sandbox.kernel_env({"HOME": "/root"})
    assert Path(env["HOME"]).is_relative_to(sandbox.scratch)
    assert Path(env["HOME"]).is_dir()


@pytest.mark.parametrize("name", ["HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE"])
def test_kernel_env_is_offline_for_hugging_face(make_sandbox, name):
    assert make_sandbox(mode="off").kernel_env({})[name] == "1"


def test_kernel_env_temp_folder_is_inside_the_scratch_folder(make_sandbox):
    sandbox = make_sandbox(mode="off")
    assert Path(sandbox.kernel_env({})["TMPDIR"]).is_relative_to(sandbox.scratch)


# ------------------------------------------------------------------------------- a real sandboxed kernel


def run(session: KernelSession, code: str, timeout: float = 30) -> tuple[str, dict | None]:
    """(stdout, error) of one piece of code run in the kernel."""
    outputs, err = session.execute(code, timeout=timeout)
    return "".join(o.get("text", "") for o in outputs if o.get("output_type") == "stream"), err


@pytest.fixture(scope="module")
def kernel(tmp_path_factory):
    if not bwrap_available():
        pytest.skip("bubblewrap (bwrap) cannot create namespaces on this machine; CI installs it")
    root = tmp_path_factory.mktemp("sandboxed")
    scratch, secret = root / "scratch", root / "secret"
    scratch.mkdir()
    secret.mkdir()
    (secret / "answers.txt").write_text("the hidden labels")
    sandbox = Sandbox(scratch=scratch, hidden=[secret], mode="on")
    session = KernelSession(scratch, sandbox, cell_timeout=30)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(SECRET_ENV, "hunter2")  # in the grader's environment when the kernel starts
        session.__enter__()
    try:
        yield SimpleNamespace(session=session, scratch=scratch.resolve(), secret=secret.resolve())
    finally:
        session.__exit__(None, None, None)
        sandbox.cleanup()


@pytest.fixture
def session(kernel):
    if kernel.session.dead:
        pytest.fail(f"the shared kernel died in an earlier test: {kernel.session.dead}")
    return kernel.session


def test_kernel_runs_code(session):
    assert run(session, "print(6 * 7)") == ("42\n", None)


def test_hidden_folder_does_not_exist_inside(session, kernel):
    assert os.listdir(kernel.secret) == ["answers.txt"]  # the host sees it
    out, err = run(session, f"import os; print(os.path.exists({str(kernel.secret)!r}))")
    assert (out.strip(), err) == ("False", None)


def test_hidden_file_cannot_be_read_inside(session, kernel):
    _, err = run(session, f"open({str(kernel.secret / 'answers.txt')!r}).read()")
    assert err is not None and err["ename"] == "FileNotFoundError"


def test_socket_to_a_host_server_fails(session):
    server = socket.create_server(("127.0.0.1", 0))
    server.setblocking(False)
    port = server.getsockname()[1]
    with server:
        _, err = run(session, f"import socket; socket.create_connection(('127.0.0.1', {port}), timeout=3)")
        assert err is not None, "the kernel reached a server on the host"
        with pytest.raises(BlockingIOError):
            server.accept()  # nothing arrived
        socket.create_connection(("127.0.0.1", port), timeout=3).close()  # while the host itself can connect


def test_writing_to_the_project_does_not_reach_the_host(session):
    """The project is not there at all: the write fails (or, where its folder is created on the sandbox's own root
    or /tmp, lands there and vanishes)."""
    target = ROOT / f"sandbox_escape_test_{uuid.uuid4().hex}"
    try:
        _, err = run(session, f"open({str(target)!r}, 'w').write('escaped')")
        assert not target.exists()
        assert err is not None and err["ename"] in ("FileNotFoundError", "PermissionError", "OSError")
    finally:
        with contextlib.suppress(FileNotFoundError):
            target.unlink()


def test_writing_into_the_hidden_folder_does_not_reach_the_host(session, kernel):
    run(session, f"open({str(kernel.secret / 'answers.txt')!r}, 'w').write('overwritten'); "
                 f"open({str(kernel.secret / 'planted.py')!r}, 'w').write('x')")
    assert sorted(os.listdir(kernel.secret)) == ["answers.txt"]
    assert (kernel.secret / "answers.txt").read_text() == "the hidden labels"


def test_writing_into_the_scratch_folder_works_and_stays_inside(session, kernel):
    out, err = run(session, "open('notes.txt', 'w').write('mine'); print(open('notes.txt').read())")
    assert (out.strip(), err) == ("mine", None)
    assert not (kernel.scratch / "notes.txt").exists()  # a tmpfs of the sandbox's own, not the host's disk


def test_filling_the_scratch_folder_stops_at_its_size(session):
    fill = ("import errno\nwritten = 0\ntry:\n    with open('fill.bin', 'wb') as f:\n        while True:\n"
            "            f.write(b'x' * (1 << 24)); written += 1 << 24\nexcept OSError as e:\n"
            "    print(errno.errorcode[e.errno], written)\nimport os; os.remove('fill.bin')")
    out, err = run(session, fill, timeout=60)
    code, written = out.split()
    assert err is None and code in ("ENOSPC", "EFBIG")
    assert int(written) <= 2 << 30


@pytest.mark.root_only  # the uid drop applies when the grader runs as root
def test_root_cannot_be_regained_to_remount_the_system_writable(session):
    out, _ = run(session, "import os, subprocess; print(os.getuid(), subprocess.run(['mount', '-o', "
                          "'remount,rw', '/'], capture_output=True).returncode)")
    uid, code = out.split()
    assert uid != "0" and code != "0"


def test_the_kernel_cannot_create_user_namespaces(session):
    """unshare exists inside and fails for lack of permission (not for being absent); the same command works on
    the host, so the test can tell the two apart."""
    import subprocess

    assert subprocess.run(["unshare", "-Ur", "true"], capture_output=True).returncode == 0, "control: the host can"
    out, err = run(session, "import shutil, subprocess\nassert shutil.which('unshare'), 'no unshare inside'\n"
                            "r = subprocess.run(['unshare', '-Ur', 'true'], capture_output=True, text=True)\n"
                            "print(r.returncode, r.stderr.strip().splitlines()[-1])")
    assert err is None, err
    code, reason = out.split(" ", 1)
    assert code != "0" and any(w in reason for w in ("Operation not permitted", "No space left", "Permission denied"))


def test_working_directory_is_the_scratch_folder(session, kernel):
    out, _ = run(session, "import os; print(os.getcwd())")
    assert out.strip() == str(kernel.scratch)


def test_kernel_home_is_inside_the_scratch_folder(session, kernel):
    out, _ = run(session, "import os; print(os.environ['HOME'])")
    assert Path(out.strip()).is_relative_to(kernel.scratch)


def test_kernel_does_not_see_the_graders_secret_environment(session):
    out, _ = run(session, f"import os; print(os.environ.get({SECRET_ENV!r}, 'absent'))")
    assert out.strip() == "absent"


def test_kernel_is_offline_for_hugging_face(session):
    out, _ = run(session, "import os; print(os.environ.get('HF_HUB_OFFLINE'))")
    assert out.strip() == "1"


def test_cell_that_raises_is_recorded_and_the_next_cell_still_runs(session):
    report = session.run_notebook([(3, "x = 1 / 0"), (4, "after_error = 44")])
    assert [(e.cell, e.ename) for e in report.errors] == [(3, "ZeroDivisionError")]
    assert report.cells_run == 2
    assert run(session, "print(after_error)")[0].strip() == "44"


def test_cell_error_records_the_line_that_raised(session):
    report = session.run_notebook([(7, "a = 1\nb = [][3]\nc = 2")])
    assert report.errors[0].ename == "IndexError"
    assert "b = [][3]" in report.errors[0].line


def test_cell_printing_5_mb_is_truncated_with_a_note(session):
    report = session.run_notebook([(9, "print('x' * (5 * 1024 * 1024))"), (10, "after_print = 1")])
    assert any("cell 9" in n and "2 MiB" in n for n in report.notes)
    assert report.errors == []


def test_a_message_over_the_limit_is_refused_by_zeromq_and_the_kernel_stays_usable(session):
    """200 MiB printed at once: zeromq drops the message before allocating it (the host never holds it)."""
    outputs, err = session.execute("print('z' * (200 << 20))", timeout=60)
    assert err is not None and err["ename"] == "OversizeMessage" and outputs == []
    assert run(session, "print('after')")[0].strip() == "after"


def test_processes_a_cell_leaves_behind_are_killed(session):
    run(session, "import subprocess; sleeper = subprocess.Popen(['sleep', '600'])")
    assert session.kill_strays() == 1
    assert run(session, "print(sleeper.wait())")[0].strip() == "-9"


def test_output_kept_from_a_5_mb_print_stays_under_the_cap(session):
    outputs, err = session.execute("print('y' * (5 * 1024 * 1024))")
    assert err is None
    assert sum(len(o.get("text", "")) for o in outputs) <= session.max_output_bytes


# ----------------------------------------------------------------------- time limits (a kernel each)


@contextlib.contextmanager
def own_kernel(tmp_path: Path, mode: str, cell_timeout: float):
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    with Sandbox(scratch=scratch, mode=mode) as box, KernelSession(scratch, box, cell_timeout=cell_timeout) as session:
        yield session


@pytest.mark.parametrize("mode", [
    "off",
    pytest.param("on", marks=needs_bwrap),
])
def test_cell_past_its_time_limit_is_recorded_and_the_kernel_stays_usable(tmp_path, mode):
    with own_kernel(tmp_path, mode, cell_timeout=3) as session:
        report = session.run_notebook([(5, "while True:\n    pass"), (6, "after_timeout = 6")])
        assert [(e.cell, e.ename) for e in report.errors] == [(5, "Timeout")]
        assert (session.dead, report.aborted) == (None, None)
        assert run(session, "print(after_timeout)")[0].strip() == "6"


def test_cell_that_swallows_interrupts_costs_what_comes_after_it_not_before(tmp_path):
    swallow = "\n".join(["import time", "while True:", "    try:", "        time.sleep(0.05)",
                         "    except KeyboardInterrupt:", "        pass"])
    with own_kernel(tmp_path, "auto", cell_timeout=3) as session:
        report = session.run_notebook([(7, "before = 7"), (8, swallow), (9, "never = 1")])
        assert "cell 8" in report.aborted and "re-ran cells 1 to 7" in report.aborted
        assert report.cells_run == 2
        assert session.dead is None  # a fresh kernel, with what came before the hung cell
        assert run(session, "print(before, 'never' in dir())")[0].split() == ["7", "False"]


def test_cell_that_kills_its_kernel_gets_a_fresh_kernel_for_the_cells_before_it(tmp_path):
    kill = "import os, signal; os.kill(os.getpid(), signal.SIGKILL)"
    with own_kernel(tmp_path, "auto", cell_timeout=10) as session:
        report = session.run_notebook([(1, "before = 1"), (2, kill), (3, "never = 1")])
        assert "cell 2" in report.aborted and report.cells_run == 1
        assert run(session, "print(before, 'never' in dir())")[0].split() == ["1", "False"]


def test_a_set_up_that_kills_the_kernel_is_not_retried(tmp_path):
    with own_kernel(tmp_path, "auto", cell_timeout=10) as session:
        report = session.run_notebook([(0, "import os, signal; os.kill(os.getpid(), signal.SIGKILL)")])
        assert report.aborted and session.dead
        with pytest.raises(KernelDied):
            session.execute("print('still here?')")


@needs_bwrap
@pytest.mark.root_only  # the uid drop applies when the grader runs as root
def test_a_readable_folder_under_a_private_one_is_readable_by_the_unprivileged_kernel(tmp_path):
    """A model in root's 0700 home (the Hugging Face cache of /root/.cache) reaches the kernel, alone."""
    private = tmp_path / "private"
    model = private / "hub" / "models--bert"
    model.mkdir(parents=True)
    (model / "config.json").write_text('{"hidden_size": 384}')
    (private / "hub" / "token").write_text("secret")
    os.chmod(private, 0o700)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    with Sandbox(scratch=scratch, mode="on", readable=[model]) as sandbox, KernelSession(scratch, sandbox) as session:
        out, err = run(session, f"import os; print(open({str(model / 'config.json')!r}).read(), "
                                f"os.path.exists({str(private / 'hub' / 'token')!r}))")
    assert err is None and out.split() == ['{"hidden_size":', '384}', "False"]
