"""Run ffmpeg as a child process: stderr captured and summarised, timeout, prompt cancel.

stderr is drained by a thread into a bounded buffer so a chatty ffmpeg can neither fill
the pipe (deadlock) nor grow our memory with the video's length.
"""

from __future__ import annotations

import collections
import contextlib
import os
import re
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from .errors import InvalidMediaError, RenderCancelled, RenderFailedError, RenderTimeoutError
from .types import CancelSignal

_POLL = 0.05
PROGRESS_PERIOD = 0.5  # seconds between ffmpeg's -progress reports
_KEEP_LINES = 400
# Lines worth showing in logs; progress lines and banners are noise.
_INTERESTING = re.compile(
    r"error|invalid|no such file|not found|could not|cannot|failed|unsupported|corrupt|"
    r"moov atom|end of file|does not contain|unknown|permission denied",
    re.IGNORECASE,
)
_INPUT_TROUBLE = re.compile(
    r"no such file|invalid data found|moov atom not found|could not find codec|"
    r"does not contain any stream|end of file|error while decoding|unsupported",
    re.IGNORECASE,
)


@lru_cache(maxsize=1)
def ffmpeg_exe() -> str:
    import imageio_ffmpeg

    return str(imageio_ffmpeg.get_ffmpeg_exe())


@dataclass
class FfmpegRun:
    returncode: int
    stderr: str
    elapsed: float
    stdout: bytes = b""


def summarise_stderr(text: str, max_lines: int = 12) -> str:
    """The lines that explain a failure, plus the tail, without the banner/progress noise."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    lines = [ln for ln in lines if not ln.startswith(("frame=", "size=", "built with", "configuration:"))]
    picked = [ln for ln in lines if _INTERESTING.search(ln)]
    tail = lines[-4:]
    out: list[str] = []
    for ln in [*picked[-max_lines:], *tail]:
        if ln not in out:
            out.append(ln)
    return "\n".join(out[-max_lines:])


def run_ffmpeg(
    args: Sequence[str],
    *,
    timeout: float | None = None,
    cancel: CancelSignal | None = None,
    capture_stdout: bool = False,
    check: bool = True,
    what: str = "render",
    on_start: object = None,
    progress: Callable[[float], None] | None = None,
) -> FfmpegRun:
    """Run `ffmpeg <args>`; raise a MediaError subclass on failure, timeout or cancel.

    `progress(seconds)` is called with the output time ffmpeg has written, from its `-progress`
    report (every `PROGRESS_PERIOD` seconds), on a reader thread."""
    if progress is not None and capture_stdout:
        raise ValueError("progress is read from stdout: it cannot be captured as well")
    report = ["-nostats", "-progress", "pipe:1", "-stats_period", str(PROGRESS_PERIOD)] if progress else []
    cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-y", *report, *args]
    started = time.monotonic()
    proc = subprocess.Popen(
        cmd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE if capture_stdout or progress else subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        # Own process group: a kill never reaches us, and Ctrl-C in a terminal is ours to handle.
        start_new_session=True,
    )
    if callable(on_start):
        on_start(proc)
    err_lines: collections.deque[str] = collections.deque(maxlen=_KEEP_LINES)
    out_chunks: list[bytes] = []

    def drain_err() -> None:
        assert proc.stderr is not None
        for raw in iter(proc.stderr.readline, b""):
            err_lines.append(raw.decode("utf-8", "replace").rstrip("\r\n"))

    def drain_out() -> None:
        assert proc.stdout is not None
        for chunk in iter(lambda: proc.stdout.read(1 << 16), b""):  # type: ignore[union-attr]
            out_chunks.append(chunk)

    def drain_progress() -> None:
        assert proc.stdout is not None and progress is not None
        for raw in iter(proc.stdout.readline, b""):
            if raw.startswith(b"out_time_us="):
                with contextlib.suppress(ValueError):
                    micros = int(raw[12:].strip())
                    if micros >= 0:  # N/A or negative before the first frame
                        progress(micros / 1e6)

    threads = [threading.Thread(target=drain_err, daemon=True)]
    if capture_stdout:
        threads.append(threading.Thread(target=drain_out, daemon=True))
    elif progress is not None:
        threads.append(threading.Thread(target=drain_progress, daemon=True))
    for t in threads:
        t.start()
    reason = ""
    try:
        while proc.poll() is None:
            if cancel is not None and cancel.is_set():
                reason = "cancelled"
                break
            if timeout is not None and time.monotonic() - started > timeout:
                reason = "timeout"
                break
            time.sleep(_POLL)
    finally:
        if proc.poll() is None:
            _kill(proc)
        for t in threads:
            t.join(timeout=5)
    elapsed = time.monotonic() - started
    stderr = "\n".join(err_lines)
    detail = summarise_stderr(stderr)
    if reason == "cancelled":
        raise RenderCancelled("The render was cancelled.", detail)
    if reason == "timeout":
        raise RenderTimeoutError(
            f"The {what} took longer than {timeout:.0f} s and was stopped. Try a shorter video "
            "or a faster preset.",
            detail,
        )
    rc = proc.returncode
    if check and rc != 0:
        if _INPUT_TROUBLE.search(stderr):
            raise InvalidMediaError(
                f"A media file could not be read during the {what}; it may be missing or corrupt.", detail
            )
        raise RenderFailedError(f"The {what} failed (ffmpeg exit code {rc}).", detail)
    return FfmpegRun(rc, stderr, elapsed, b"".join(out_chunks))


def _kill(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, 9)
    except (ProcessLookupError, PermissionError):
        proc.kill()
    with contextlib.suppress(subprocess.TimeoutExpired):  # a SIGKILLed child always exits
        proc.wait(timeout=5)


def escape_filter_path(path: str) -> str:
    """Quote a path for a filter option. Callers pass paths of our own temp dirs/package."""
    if "'" in path:
        raise ValueError("paths with quotes are not supported in filtergraphs")
    return "'" + path.replace("\\", "/").replace(":", "\\:") + "'"
