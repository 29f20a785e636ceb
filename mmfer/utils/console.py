# Copyright (c) mmfer contributors. All rights reserved.
"""A quiet console for mmengine runs: progress, warnings and errors on the screen, everything
in the log file.

mmengine's ``MMLogger`` gives its console handler and its file handler the same level
(``log_level``). A run at ``INFO`` prints the whole config, the environment and the
initialisation of every parameter; building a momentum-encoder model (BYOL, MoCo) also prints
one WARNING per frozen parameter (``... is skipped since its requires_grad=False``, hundreds
of lines). :func:`quiet_console` filters only the **console** handler: it keeps records at
``level`` or above (minus those known repetitive messages) and, with ``progress=True``, the
progress lines (mmengine's ``Iter(train) [ 10/300] ...`` / ``Epoch(val) ...`` lines and
:class:`~mmfer.engine.FeatureMonitorHook`'s ``monitor @ iter ...``); the file handler keeps
logging everything.

``FERRunner`` applies it when the config sets ``console_log_level`` (e.g. ``'WARNING'``;
``console_progress=False`` hides the progress lines too); ``tools/train.py --quiet`` and
``tools/test.py --quiet`` set that key.
"""
import logging
import re
from typing import Iterable, Optional, Union

#: Console messages dropped by :func:`quiet_console` (they stay in the log file).
NOISE_PATTERNS = (
    r'is skipped since its requires_grad=False',   # optimizer constructor, frozen params
    r'"FileClient" will be deprecated',
    r'"HardDiskBackend" is the alias of "LocalBackend"',
)
#: Lines that report progress (kept below ``level`` when ``progress=True``).
PROGRESS_PATTERNS = (
    r'^(Iter|Epoch)\((train|val|test)\)',
    r'^monitor @ iter',
)


class QuietConsoleFilter(logging.Filter):
    """Keep records at ``level`` or above that are not noise, and progress lines.

    Args:
        level (int): The lowest level shown (besides progress lines).
        progress (bool): Show :data:`PROGRESS_PATTERNS` lines of any level.
        noise (Iterable[str]): Messages (regular expressions) never shown.
    """

    def __init__(self, level: int = logging.WARNING, progress: bool = True,
                 noise: Iterable[str] = NOISE_PATTERNS) -> None:
        super().__init__()
        self.level = int(level)
        self.progress = [re.compile(p) for p in PROGRESS_PATTERNS] if progress else []
        self.noise = [re.compile(p) for p in noise]

    def filter(self, record: logging.LogRecord) -> bool:
        msg = record.getMessage()
        if any(p.search(msg) for p in self.noise):
            return False
        if record.levelno >= self.level:
            return True
        return any(p.search(msg) for p in self.progress)


def _level(level: Union[int, str]) -> int:
    if isinstance(level, str):
        if level.upper() not in logging._nameToLevel:
            raise ValueError(f'console_log_level: unknown level {level!r} (use DEBUG, INFO, '
                             'WARNING, ERROR or CRITICAL)')
        return logging._nameToLevel[level.upper()]
    return int(level)


def quiet_console(logger: Optional[logging.Logger] = None,
                  level: Union[int, str] = 'WARNING',
                  progress: bool = True,
                  noise: Iterable[str] = NOISE_PATTERNS) -> logging.Logger:
    """Filter ``logger``'s console handlers (see the module docstring); files are untouched.

    Args:
        logger (logging.Logger, optional): Defaults to mmengine's current ``MMLogger``.
        level (int | str): Lowest level shown, e.g. ``'WARNING'``. Defaults to ``'WARNING'``.
        progress (bool): Keep progress lines below ``level``. Defaults to True.
        noise (Iterable[str]): Messages (regular expressions) kept off the console.

    Returns:
        logging.Logger: ``logger``.

    Raises:
        ValueError: an unknown level name.
    """
    if logger is None:
        from mmengine.logging import MMLogger
        logger = MMLogger.get_current_instance()
    level = _level(level)
    for handler in logger.handlers:
        if not isinstance(handler, logging.StreamHandler) or isinstance(
                handler, logging.FileHandler):
            continue
        for old in [f for f in handler.filters if isinstance(f, QuietConsoleFilter)]:
            handler.removeFilter(old)
        # a non-zero rank's console shows errors only (mmengine): never show more there
        handler.addFilter(QuietConsoleFilter(max(level, handler.level), progress, noise))
    return logger
