#!/usr/bin/env python
# Copyright (c) mmfer contributors. All rights reserved.
"""The SSL study on synthetic faces: does pre-training learn expression? (mmfer.apis.ssl_study)

Examples::

    python tools/misc/ssl_benchmark.py --preset cpu            # = make demo
    python tools/misc/ssl_benchmark.py --preset gpu            # one GPU, larger data
    python tools/misc/ssl_benchmark.py --preset cpu --methods random_init byol --seeds 0
    python tools/misc/ssl_benchmark.py --preset cpu --calibrate lr=0.05 lr=0.1 lr=0.2
"""
import sys

from mmfer.apis.ssl_study import main

if __name__ == '__main__':
    sys.exit(main(description=__doc__.split('\n')[0]))
