"""Writers racing each other (issue 19, item 5): real processes saving the same picture at the same moment.

Every save goes through its own temporary file and one rename, so none fails and
every path handed back holds the whole picture, whatever the others are doing.
"""

from __future__ import annotations

import pytest

from memer import files, settings
from tests.standins import races


@pytest.mark.parametrize("worker", [races.save_upload, races.save_generated], ids=["upload", "generated"])
def test_four_processes_saving_the_same_picture_at_once_all_get_it_whole(worker):
    assert races.race(worker, processes=4, rounds=50) == []
    folder = settings.download_dir() / ("own" if worker is races.save_upload else "generated")
    assert not [p.name for p in folder.iterdir() if p.suffix == ".part"]  # no writer left its temporary file


def test_a_file_cut_short_earlier_is_written_again(tmp_path):
    """A kept picture an older memer left half-written is not handed back as it is."""
    from memer.images import keep_picture

    data = races.picture(1)
    path, _ = keep_picture(data, "own")
    path.write_bytes(data[:10])
    again, _ = keep_picture(data, "own")
    assert again == path and path.read_bytes() == data


def test_a_failed_write_leaves_neither_file_nor_temporary(tmp_path):
    def chunks():
        yield b"half"
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError):
        files.write_atomic(tmp_path / "x.png", chunks())
    assert list(tmp_path.iterdir()) == []
