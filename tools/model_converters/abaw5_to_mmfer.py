#!/usr/bin/env python
# Copyright (c) mmfer contributors. All rights reserved.
"""Convert an ABAW5 release checkpoint (MMClassification 0.x) to mmfer's key names.

    python tools/model_converters/abaw5_to_mmfer.py abaw5_res50.pth abaw5_res50_mmfer.pth \\
        [--config configs/abaw5/<the ResNet-50 expression config>.py]

``neck.conv1.*``/``neck.conv2.*`` (the released SpatialFlatten) become ``neck.convs.0.*``/
``neck.convs.1.*``; ``backbone.*`` and ``head.fc.*`` keep their names. The file is read with
``weights_only=True`` (falling back to mmfer's restricted reader, which never runs pickled
code); ``--config`` checks that every converted tensor fits that config's model.
"""
import argparse

from mmfer.utils.checkpoint_converters import convert_checkpoint


def parse_args(argv=None):
    p = argparse.ArgumentParser(description='ABAW5 (MMClassification 0.x) -> mmfer')
    p.add_argument('src', help='released checkpoint')
    p.add_argument('dst', help='output checkpoint (state_dict + meta)')
    p.add_argument('--config', help='mmfer config whose model must accept the weights')
    p.add_argument('--trust-pickle', action='store_true',
                   help='fully unpickle a file the restricted reader cannot read: this can '
                   'run code stored in the file; only for files you trust')
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    rep = convert_checkpoint(args.src, args.dst, 'abaw5', trust_pickle=args.trust_pickle,
                             config=args.config)
    print(f'{args.src} -> {args.dst}: {rep["num_tensors"]} tensors ({rep["renamed"]} renamed, '
          f'read with {rep["reader"]}), meta {rep["meta"]}')
    if args.config:
        print(f'fits {args.config}; weights not in the checkpoint: '
              f'{rep["missing_in_checkpoint"] or "none"}')


if __name__ == '__main__':
    main()
