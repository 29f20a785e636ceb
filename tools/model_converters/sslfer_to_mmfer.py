#!/usr/bin/env python
# Copyright (c) mmfer contributors. All rights reserved.
"""Convert an SSL-FER release checkpoint (plain PyTorch dict) to an mmfer backbone checkpoint.

    python tools/model_converters/sslfer_to_mmfer.py checkpoint_best.pth.tar sslfer_r50.pth \\
        [--config <an mmfer ResNet-50 downstream config>]

SSL-FER's files hold ``state_dict`` (``ResNetSimCLR``: a torchvision ResNet under
``backbone.`` with the projector as ``backbone.fc``), the optimizer state and the pickled
``CosineAnnealingLR`` scheduler object. mmfer never unpickles such objects: ``weights_only``
loading refuses the file, and a restricted reader then reads the tensors only (the scheduler
and optimizer become inert placeholders; nothing from the file is imported or run). The
encoder keeps its ``backbone.*`` names (torchvision's ResNet names are mmpretrain's); the
projector is dropped. ``--trust-pickle`` fully unpickles a file the restricted reader cannot
read (e.g. torch < 1.6's format): that may RUN CODE stored in the file, so use it only for a
file you trust. ``--config`` checks that every converted tensor fits that config's model.
"""
import argparse

from mmfer.utils.checkpoint_converters import convert_checkpoint


def parse_args(argv=None):
    p = argparse.ArgumentParser(description='SSL-FER (plain PyTorch) -> mmfer backbone')
    p.add_argument('src', help='released checkpoint (.pth.tar)')
    p.add_argument('dst', help='output checkpoint (state_dict + meta)')
    p.add_argument('--config', help='mmfer config whose model must accept the weights')
    p.add_argument('--trust-pickle', action='store_true',
                   help='fully unpickle a file the restricted reader cannot read: this can '
                   'run code stored in the file; only for files you trust')
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    rep = convert_checkpoint(args.src, args.dst, 'sslfer', trust_pickle=args.trust_pickle,
                             config=args.config)
    print(f'{args.src} -> {args.dst}: {rep["num_tensors"]} backbone tensors, dropped '
          f'{len(rep["dropped"])} projector tensors, read with {rep["reader"]}'
          + (f' (not unpickled: {", ".join(rep["replaced_globals"])})'
             if rep['replaced_globals'] else ''))
    if args.config:
        print(f'fits {args.config}; weights not in the checkpoint: '
              f'{len(rep["missing_in_checkpoint"])} ({", ".join(rep["missing_in_checkpoint"][:4])}'
              f'{" ..." if len(rep["missing_in_checkpoint"]) > 4 else ""})')


if __name__ == '__main__':
    main()
