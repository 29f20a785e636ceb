# Copyright (c) mmfer contributors. All rights reserved.
import mmpose
import pytest

import mmfer


def test_version_check_passes_on_installed_stack():
    mmfer._check_versions()


def test_version_check_names_the_package_and_the_fix(monkeypatch):
    monkeypatch.setattr(mmpose, '__version__', '1.3.0')
    with pytest.raises(ImportError) as err:
        mmfer._check_versions()
    msg = str(err.value)
    assert 'mmpose==1.3.0 is installed' in msg and '1.1.0 <= mmpose < 1.2.0' in msg
    assert 'make install' in msg and '--no-deps mmpose==1.1.0' in msg
