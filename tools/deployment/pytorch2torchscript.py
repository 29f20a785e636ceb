#!/usr/bin/env python
# Copyright (c) mmfer contributors. All rights reserved.
"""Export a config's model (+ checkpoint) to TorchScript (``torch.jit.trace``).

    python tools/deployment/pytorch2torchscript.py CONFIG [--checkpoint CKPT] --out model.pt \\
        [--part classifier|features] [--shape 224] [--verify]

Same parts, input and ``<out>.json`` as ``pytorch2onnx.py``; load the file with
``torch.jit.load`` (Python) or ``torch::jit::load`` (C++). ``--verify`` reloads it and prints
the max abs difference to the eager model.
"""
import argparse

from mmengine.config import DictAction

from mmfer.apis.deployment import (ExportModel, compare_exported, export_torchscript,
                                   init_model, output_names, preprocess_info,
                                   write_preprocess_json)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description='Export an mmfer model to TorchScript')
    p.add_argument('config')
    p.add_argument('--checkpoint', help='weights (random initialisation when omitted)')
    p.add_argument('--out', required=True, help='output .pt file')
    p.add_argument('--part', choices=['classifier', 'features'], default='classifier')
    p.add_argument('--shape', type=int, nargs='+', default=[224], help='input H [W]')
    p.add_argument('--verify', action='store_true', help='reload and compare')
    p.add_argument('--atol', type=float, default=1e-4)
    p.add_argument('--cfg-options', nargs='+', action=DictAction)
    return p.parse_args(argv)


def main(argv=None):
    import torch
    args = parse_args(argv)
    size = (args.shape[0], args.shape[-1])
    model = init_model(args.config, args.checkpoint, cfg_options=args.cfg_options)
    module = ExportModel(model, args.part)
    export_torchscript(module, args.out, size)
    with torch.no_grad():
        names = output_names(module(torch.zeros(1, 3, *size)), args.part)
    meta = write_preprocess_json(args.out, preprocess_info(model, size, args.part, names))
    print(f'wrote {args.out} (+ {meta}): {args.part}, input (N, 3, {size[0]}, {size[1]})')
    if args.verify:
        diff = compare_exported(module, args.out, size)
        print(f'TorchScript vs PyTorch: max abs diff {diff:.3g}')
        if not diff <= args.atol:
            raise SystemExit(f'{args.out} differs from PyTorch by {diff:.3g} > {args.atol}')


if __name__ == '__main__':
    main()
