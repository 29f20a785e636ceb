# Copyright (c) mmfer contributors. All rights reserved.
"""Helpers shared by the FER datasets (RAF-DB, AffectNet, FER2013, FEC): counted drops."""
from collections import Counter

from mmengine.logging import print_log


def log_counts(dataset: str, split: str, kept: int, dropped: Counter,
               source: str) -> None:
    """Log how many samples were kept and, per reason, dropped (never silently).

    Raises:
        ValueError: nothing was kept (an empty dataset only fails later, cryptically).
    """
    msg = f'{dataset} [{split}] {source}: kept {kept} samples'
    if dropped:
        reasons = ', '.join(f'{n} {why}' for why, n in sorted(dropped.items()))
        msg += f'; dropped {sum(dropped.values())} ({reasons})'
    print_log(msg, logger='current')
    if kept == 0:
        raise ValueError(f'{msg}: the {split!r} split is empty (an empty or wrong annotation '
                         'file, or every sample dropped); check the data root and split')


def check_missing(dataset: str, missing: list, skip_missing: bool, dropped: Counter,
                  what: str = 'image files are missing') -> None:
    """Raise on missing files (naming a few) unless ``skip_missing``; then count them."""
    if not missing:
        return
    if not skip_missing:
        shown = '\n  '.join(missing[:5])
        raise FileNotFoundError(
            f'{dataset}: {len(missing)} {what}, e.g.\n  {shown}\n'
            'Fix the data root / layout, or pass skip_missing=True to drop (and count) them.')
    dropped[f'missing image{"s" if len(missing) > 1 else ""}'] += len(missing)

