#!/usr/bin/env python
# Copyright (c) mmfer contributors. All rights reserved.
"""FLOPs and parameters of a config's model (mmengine's complexity counter).

    python tools/analysis_tools/get_flops.py CONFIG [--shape 224] [--part classifier|features]

``--part classifier`` counts backbone -> neck -> head, ``--part features`` backbone + global
average pooling (the exported parts of ``tools/deployment``). FLOPs count one multiply-add as
one FLOP (fvcore / mmengine convention); check unsupported ops in ``--show-table`` before
quoting numbers.
"""
import argparse

from mmengine.config import DictAction

from mmfer.apis.deployment import ExportModel, init_model, model_complexity


def parse_args(argv=None):
    p = argparse.ArgumentParser(description='Get model FLOPs and parameters')
    p.add_argument('config')
    p.add_argument('--shape', type=int, nargs='+', default=[224], help='input H [W]')
    p.add_argument('--part', choices=['classifier', 'features'], default='classifier')
    p.add_argument('--show-table', action='store_true', help='per-module table')
    p.add_argument('--cfg-options', nargs='+', action=DictAction)
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    size = (args.shape[0], args.shape[-1])
    model = init_model(args.config, cfg_options=args.cfg_options)
    res = model_complexity(ExportModel(model, args.part), size)
    if args.show_table:
        print(res['out_table'])
    print(f'Input shape: (1, 3, {size[0]}, {size[1]})  part: {args.part}\n'
          f'FLOPs: {res["flops_str"]}  ({res["flops"]})\n'
          f'Params: {res["params_str"]}  ({res["params"]})\n'
          f'Activations: {res["activations_str"]}')


if __name__ == '__main__':
    main()
