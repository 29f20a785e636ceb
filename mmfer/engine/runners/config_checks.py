# Copyright (c) mmfer contributors. All rights reserved.
"""Checks :class:`~mmfer.engine.FERRunner` runs on a config before any work starts.

mmengine reads the top-level keys it knows and ignores every other one, so a typo such as
``load_form=`` silently trains from scratch, and ``train_cfg.max_iters=0`` silently trains
nothing. :func:`unknown_top_level_keys` finds keys nothing reads; :func:`check_train_length`
refuses non-positive schedules.

**Which top-level keys are known.** mmengine ``Runner``'s arguments (what ``from_cfg``
passes), the keys mmengine / mmfer read from ``runner.cfg`` (:data:`RUNTIME_KEYS`), and
mmengine's ``custom_imports``. Configs also define helper variables (``img_size``,
``data_root``, ``train_pipeline`` ...) that end up as top-level keys. The rule that keeps the
warning useful without flagging those:

1. a key that a file of the config (the file or one of its ``_base_`` files) *uses* as a
   variable (``pipeline=train_pipeline``, ``{{_base_.data_root}}``, ``_base_.img_size``)
   is a helper: never reported;
2. an unknown key within typing distance of a known one (difflib ratio >= 0.75, e.g.
   ``load_form`` / ``load_from``, ``work_dri``, ``trian_cfg``) is reported with that name:
   nothing reads it, and the key it was meant to be keeps its default;
3. an unknown key that no file of the config defines (it came from ``--cfg-options`` or
   code, e.g. ``--cfg-options data_root=x``) is reported: nothing reads it;
4. an unknown key a config file defines but never uses (a documentation variable such as
   ``img_size = 224``) is not reported.

Add a key to :data:`RUNTIME_KEYS` when mmfer code starts reading it from the config.
"""
import ast
import difflib
import inspect
import os.path as osp
from typing import Iterable, List, Mapping, Optional, Set, Tuple

from mmengine.config import Config
from mmengine.runner import Runner

__all__ = ['RUNTIME_KEYS', 'known_top_level_keys', 'config_file_names',
           'unknown_top_level_keys', 'check_train_length']

#: Top-level keys read outside ``Runner.__init__``'s arguments.
RUNTIME_KEYS = frozenset({
    'runner_type',  # mmengine RUNNERS.build
    'custom_imports',  # mmengine Config.fromfile
    # mmengine Runner.wrap_model / train / _maybe_compile
    'model_wrapper_cfg', 'sync_bn', 'find_unused_parameters', 'activation_checkpointing',
    'efficient_conv_bn_eval', 'compile',
    'load_from_prefix',  # mmfer FERRunner (tools/test.py --checkpoint-prefix)
    'console_log_level', 'console_progress',  # mmfer FERRunner.build_logger (--quiet)
})

#: difflib ratio above which an unknown key is taken for a typo of a known one.
TYPO_CUTOFF = 0.75


def known_top_level_keys() -> Set[str]:
    """``Runner.__init__``'s arguments (less ``cfg``) and :data:`RUNTIME_KEYS`."""
    params = set(inspect.signature(Runner.__init__).parameters) - {'self', 'cfg'}
    return params | RUNTIME_KEYS


def _config_files(filename: str, seen: Optional[Set[str]] = None) -> List[str]:
    """``filename`` and its ``_base_`` files, recursively (Python configs)."""
    seen = set() if seen is None else seen
    filename = osp.abspath(filename)
    if filename in seen or not filename.endswith('.py') or not osp.isfile(filename):
        return []
    seen.add(filename)
    files = [filename]
    try:
        bases = Config._get_base_files(filename)
    except Exception:  # unparsable: Config.fromfile reports it
        return files
    for base in bases:
        try:
            path, scope = Config._get_cfg_path(base, filename)
        except Exception:
            continue
        if path is not None and scope is None:  # another package's configs: not ours
            files += _config_files(path, seen)
    return files


def config_file_names(filename: str) -> Tuple[Set[str], Set[str]]:
    """The top-level names the files of a config define and the names they use.

    Args:
        filename (str): The config file; its ``_base_`` files are read too.

    Returns:
        tuple[set[str], set[str]]: ``(defined, used)``: names assigned at module level;
        names read as variables (``ast.Name`` loads) or as ``_base_.<name>``.
    """
    defined: Set[str] = set()
    used: Set[str] = set()
    for path in _config_files(filename):
        with open(path, encoding='utf-8') as f:
            try:
                tree = ast.parse(f.read())
            except SyntaxError:
                continue
        for node in tree.body:
            targets = (node.targets if isinstance(node, ast.Assign) else
                       [node.target] if isinstance(node, (ast.AnnAssign, ast.AugAssign)) else [])
            for target in targets:
                for name in ast.walk(target):
                    if isinstance(name, ast.Name):
                        defined.add(name.id)
        for node in ast.walk(tree):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
                used.add(node.id)
            elif (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                  and node.value.id == '_base_'):
                used.add(node.attr)
    return defined, used


def unknown_top_level_keys(cfg: Mapping, filename: Optional[str] = None,
                           extra_known: Iterable[str] = ()) -> List[str]:
    """Messages for the top-level keys of ``cfg`` that nothing reads (rules in the module
    docstring).

    Args:
        cfg (Mapping): The merged config.
        filename (str, optional): Its file; defaults to ``cfg.filename``. Without a file only
            likely typos (rule 2) are reported.
        extra_known (Iterable[str]): More keys the caller reads.

    Returns:
        list[str]: One message per key, naming it and, for a likely typo, the known key.
    """
    known = known_top_level_keys() | set(extra_known)
    filename = filename if filename is not None else getattr(cfg, 'filename', None)
    defined, used = config_file_names(filename) if filename else (None, set())
    messages = []
    for key in sorted(cfg.keys()):
        if key in known or key in used or key.startswith('_'):
            continue
        close = difflib.get_close_matches(key, sorted(known), n=1, cutoff=TYPO_CUTOFF)
        where = f' ({filename})' if filename else ''
        if close:
            messages.append(f'unknown top-level config key {key!r}{where}: did you mean '
                            f'{close[0]!r}? Nothing reads {key!r}, so {close[0]!r} keeps '
                            'its value')
        elif defined is not None and key not in defined:
            messages.append(f'unknown top-level config key {key!r}{where}: nothing reads it '
                            '(a --cfg-options key must name the nested setting, e.g. '
                            'train_dataloader.dataset.data_root=...)')
    return messages


def check_train_length(train_cfg: Optional[Mapping], source: str = 'the config') -> None:
    """Refuse a schedule that trains nothing.

    Args:
        train_cfg (Mapping, optional): The config's ``train_cfg`` (None: not training).
        source (str): Named in the error (the config file).

    Raises:
        ValueError: ``max_iters`` / ``max_epochs`` / ``val_interval`` is not a positive
            integer; the message names the key and the value.
    """
    if not train_cfg:
        return
    for key in ('max_iters', 'max_epochs', 'val_interval'):
        value = train_cfg.get(key)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise ValueError(f'train_cfg.{key} must be a positive integer, got {value!r} '
                             f'({source}): the run would train nothing')
