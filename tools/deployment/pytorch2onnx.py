#!/usr/bin/env python
# Copyright (c) mmfer contributors. All rights reserved.
"""Export a config's model (+ checkpoint) to ONNX and check it against PyTorch.

    python tools/deployment/pytorch2onnx.py CONFIG [--checkpoint CKPT] --out model.onnx \\
        [--part classifier|features] [--shape 224] [--verify]

``--part classifier``: backbone -> neck -> head (raw logits / VA / AU outputs);
``--part features``: backbone + global average pooling (the embedding of mmfer's k-NN).
The graph takes the normalised RGB batch (N, 3, H, W) with a dynamic N; ``<out>.json``
records the mean/std/channel order. ``--verify`` runs the file with onnxruntime and prints
the max abs difference to PyTorch (error above ``--atol``). Needs ``pip install -e .[deploy]``.
"""
import argparse

from mmengine.config import DictAction

from mmfer.apis.deployment import (ExportModel, compare_exported, export_onnx, init_model,
                                   preprocess_info, write_preprocess_json)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description='Export an mmfer model to ONNX')
    p.add_argument('config')
    p.add_argument('--checkpoint', help='weights (random initialisation when omitted)')
    p.add_argument('--out', required=True, help='output .onnx file')
    p.add_argument('--part', choices=['classifier', 'features'], default='classifier')
    p.add_argument('--shape', type=int, nargs='+', default=[224], help='input H [W]')
    p.add_argument('--opset', type=int, default=18)
    p.add_argument('--legacy-exporter', action='store_true',
                   help="torch's deprecated TorchScript-based ONNX exporter (no onnxscript)")
    p.add_argument('--verify', action='store_true', help='compare with onnxruntime')
    p.add_argument('--atol', type=float, default=1e-4)
    p.add_argument('--cfg-options', nargs='+', action=DictAction)
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    size = (args.shape[0], args.shape[-1])
    model = init_model(args.config, args.checkpoint, cfg_options=args.cfg_options)
    module = ExportModel(model, args.part)
    names = export_onnx(module, args.out, size, opset=args.opset,
                        dynamo=not args.legacy_exporter)
    meta = write_preprocess_json(args.out, preprocess_info(model, size, args.part, names))
    print(f'wrote {args.out} (+ {meta}): {args.part}, input (N, 3, {size[0]}, {size[1]}), '
          f'outputs {names}')
    if args.verify:
        diff = compare_exported(module, args.out, size)
        print(f'onnxruntime vs PyTorch: max abs diff {diff:.3g}')
        if not diff <= args.atol:
            raise SystemExit(f'{args.out} differs from PyTorch by {diff:.3g} > {args.atol}')


if __name__ == '__main__':
    main()
