# Copyright (c) mmfer contributors. All rights reserved.
import datetime
import warnings

from mmengine import DefaultScope


def register_all_modules(init_default_scope: bool = True) -> None:
    """Import mmfer's modules so that they register, and optionally set the default scope.

    Registries import their ``locations`` lazily, so this is only needed where a component
    must be registered before any registry lookup (e.g. in scripts that ``isinstance``-check).

    Args:
        init_default_scope (bool): Set mmengine's default scope to ``'mmfer'``. If another
            scope is current, a new ``mmfer`` scope instance is created. Defaults to True.
    """
    import mmfer.datasets  # noqa: F401,F403
    import mmfer.engine  # noqa: F401,F403
    import mmfer.evaluation  # noqa: F401,F403
    import mmfer.models  # noqa: F401,F403
    import mmfer.visualization  # noqa: F401,F403

    if not init_default_scope:
        return
    never_created = (DefaultScope.get_current_instance() is None
                     or not DefaultScope.check_instance_created('mmfer'))
    if never_created:
        DefaultScope.get_instance('mmfer', scope_name='mmfer')
        return
    current_scope = DefaultScope.get_current_instance()
    if current_scope.scope_name != 'mmfer':
        warnings.warn('The current default scope '
                      f'"{current_scope.scope_name}" is not "mmfer", '
                      '`register_all_modules` will force the current'
                      'default scope to be "mmfer". If this is not '
                      'expected, please set `init_default_scope=False`.')
        new_instance_name = f'mmfer-{datetime.datetime.now()}'
        DefaultScope.get_instance(new_instance_name, scope_name='mmfer')
