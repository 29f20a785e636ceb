#!/usr/bin/env python
# Copyright (c) mmfer contributors. All rights reserved.
"""`make demo`: does self-supervised pre-training learn expression? The SSL study, CPU preset.

Random init, a supervised bound, BYOL, ContraWarping-BYOL (RW*, RW†, RW† + LD), SimSiam,
ContraWarping-SimSiam and SSL-FER, each pre-trained with the same narrow ResNet-18, data and
budget on synthetic faces, 3 seeds, in this one process; frozen-feature evaluation on faces of
other people (bank and test share no person); ``work_dirs/demo/report.md`` with the table
(mean ± sd, binomial SE), the reading, the curves, a t-SNE and every command. Re-running skips
finished runs and resumes an interrupted one. The same as
``tools/misc/ssl_benchmark.py --preset cpu --work-dir work_dirs/demo`` (see its options).

Example::

    python tools/misc/run_demo.py                      # ~15 min on 2 idle cores
    python tools/misc/run_demo.py --seeds 0 --methods random_init supervised byol
"""
import sys

from mmfer.apis.ssl_study import main

if __name__ == '__main__':
    sys.exit(main(default_preset='cpu', default_work_dir='work_dirs/demo',
                  description=__doc__.split('\n')[0]))
