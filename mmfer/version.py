# Copyright (c) mmfer contributors. All rights reserved.
__version__ = '0.1.0'


def parse_version_info(version_str: str) -> tuple:
    """Parse a version string into a tuple of ints, e.g. '0.10.7' -> (0, 10, 7)."""
    parts = []
    for x in version_str.split('.'):
        digits = ''.join(ch for ch in x if ch.isdigit())
        if not digits:
            break
        parts.append(int(digits))
    return tuple(parts)


version_info = parse_version_info(__version__)
