# Copyright (c) mmfer contributors. All rights reserved.
"""mmfer: self-supervised facial-expression representation learning on OpenMMLab."""
import mmengine
from mmengine.utils import digit_version

from .version import __version__, version_info

# Versions measured to work together (see README "Install"). Each range is [min, max).
_REQUIRED = {
    'mmengine': ('0.10.0', '0.11.0'),
    'mmcv': ('2.0.0', '2.1.0'),  # mmcv-lite 2.0.1 (mmpose 1.1.0 needs mmcv < 2.1.0)
    'mmpretrain': ('1.2.0', '1.3.0'),
    'mmpose': ('1.1.0', '1.2.0'),  # 1.2+ import mmcv.ops at import time (full mmcv)
}


def _check_versions() -> None:
    """Fail early, with the install hint, when an OpenMMLab package is missing or off-range."""
    import importlib
    problems = []
    for name, (low, high) in _REQUIRED.items():
        try:
            version = importlib.import_module(name).__version__
        except ImportError as e:
            problems.append(f'{name} is not installed ({e})')
            continue
        if not digit_version(low) <= digit_version(version) < digit_version(high):
            problems.append(f'{name}=={version} is installed, mmfer needs '
                            f'{low} <= {name} < {high}')
    if problems:
        raise ImportError(
            'mmfer cannot run with the installed OpenMMLab packages:\n  - ' +
            '\n  - '.join(problems) + '\nInstall the tested versions with `make install` '
            '(or see README "Install": mmcv-lite==2.0.1, mmpretrain==1.2.0, '
            '`pip install --no-deps mmpose==1.1.0`).')


_check_versions()

from .utils.checkpoint import register_checkpoint_safe_globals  # noqa: E402

register_checkpoint_safe_globals()

__all__ = ['__version__', 'version_info']
