# Copyright (c) mmfer contributors. All rights reserved.
"""Output-folder safety and progress lines of the synthetic writers."""
import io

import pytest

from mmfer.datasets.synthetic import check_out_root, fresh_out_root
from mmfer.datasets.synthetic._io import LineProgress, progress_bar


def test_check_out_root(tmp_path):
    check_out_root(str(tmp_path / 'absent'))
    check_out_root(str(tmp_path))                                # empty folder
    (tmp_path / 'old.jpg').write_bytes(b'x')
    with pytest.raises(FileExistsError, match=r'is not empty \(1 entries: old.jpg\).*--overwrite'):
        check_out_root(str(tmp_path))
    check_out_root(str(tmp_path), overwrite=True)
    with pytest.raises(FileExistsError, match='not a folder'):
        check_out_root(str(tmp_path / 'old.jpg'), overwrite=True)


def test_fresh_out_root_replaces_and_never_mixes(tmp_path):
    root = tmp_path / 'data'
    root.mkdir()
    (root / 'stale.jpg').write_bytes(b'old')
    (tmp_path / 'data.partial').mkdir()                          # left by a killed run
    (tmp_path / 'data.partial' / 'half.jpg').write_bytes(b'half')
    with pytest.raises(FileExistsError):
        with fresh_out_root(str(root)):
            pass
    with fresh_out_root(str(root), overwrite=True) as tmp:
        assert tmp == str(root) + '.partial' and not list((tmp_path / 'data.partial').iterdir())
        (tmp_path / 'data.partial' / 'new.jpg').write_bytes(b'new')
        assert (root / 'stale.jpg').exists()                     # untouched until complete
    assert sorted(p.name for p in root.iterdir()) == ['new.jpg']
    assert not (tmp_path / 'data.partial').exists()
    # a failure leaves the old dataset and no partial folder
    with pytest.raises(RuntimeError, match='boom'):
        with fresh_out_root(str(root), overwrite=True) as tmp:
            (tmp_path / 'data.partial' / 'x.jpg').write_bytes(b'x')
            raise RuntimeError('boom')
    assert sorted(p.name for p in root.iterdir()) == ['new.jpg']
    assert not (tmp_path / 'data.partial').exists()


def test_line_progress_writes_whole_lines():
    out = io.StringIO()
    bar = LineProgress(1000, stream=out, min_interval=0.0)
    for _ in range(1000):
        bar.update()
    lines = out.getvalue().splitlines()
    assert '\r' not in out.getvalue() and len(lines) == 10
    assert lines[0].startswith('100/1000 (10%)') and lines[-1].startswith('1000/1000 (100%)')
    quiet = io.StringIO()
    bar = LineProgress(50, stream=quiet, min_interval=3600)        # only the final line
    for _ in range(50):
        bar.update()
    assert quiet.getvalue().count('\n') == 1
    assert progress_bar(5, enabled=False) is None
    assert isinstance(progress_bar(5, enabled=True), LineProgress)   # pytest's stdout: no TTY
