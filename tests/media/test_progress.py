"""Progress across processes: the file a worker writes and the stage follows; ffmpeg's reports."""

from __future__ import annotations

import asyncio
import pickle

from media.ffmpeg import run_ffmpeg
from media.progress import ProgressFile, follow


def test_a_progress_file_crosses_a_pickle_and_throttles(tmp_path):
    reader = ProgressFile(tmp_path / "p", interval=3600)
    writer = pickle.loads(pickle.dumps(reader))  # what a worker process gets
    assert reader.read() is None
    writer.report(1, 10)
    writer.report(2, 10)  # within the interval: dropped
    assert reader.read() == (1.0, 10.0)
    writer.report(10, 10)  # the end is always written
    assert reader.read() == (10.0, 10.0)
    (tmp_path / "p").write_text("garbage")
    assert reader.read() is None  # never an error


async def test_follow_passes_on_new_values_and_always_the_last(tmp_path):
    progress = ProgressFile(tmp_path / "p", interval=0)
    seen: list[tuple[float, float]] = []

    async def work() -> str:
        for i in range(1, 4):
            progress.report(i, 3)
            await asyncio.sleep(0.02)
        return "done"

    async def on_progress(done: float, total: float) -> None:
        seen.append((done, total))

    assert await follow(progress, work(), on_progress, poll=0.01) == "done"
    assert seen and seen == sorted(set(seen)) and seen[-1] == (3.0, 3.0)
    assert not progress.path.exists()  # cleared


def test_ffmpeg_reports_the_output_time_it_has_written(tmp_path):
    times: list[float] = []
    run_ffmpeg(
        ["-loglevel", "error", "-f", "lavfi", "-i", "testsrc2=s=64x64:r=25:d=3",
         "-c:v", "libx264", "-preset", "ultrafast", str(tmp_path / "o.mp4")],
        progress=times.append,
    )  # fmt: skip
    assert times and times == sorted(times)
    assert abs(times[-1] - 3.0) < 0.05  # the final report (progress=end) is always written
