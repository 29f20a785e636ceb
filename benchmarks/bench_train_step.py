#!/usr/bin/env python
# Copyright (c) mmfer contributors. All rights reserved.
"""Framework overhead of a ContraWarping-BYOL training step: mmfer vs a plain-PyTorch loop.

A (mmfer): the model of
``configs/contrawarp/contrawarp-byol_resnet18_8xb512-lars-coslr-50e_ms1m.py``
(ResNet-18, BYOL projector, ContraWarpHead predictor + ContraWarpLoss, CosineEMA target
network, landmark heatmap head with Eq. (5)'s squared weights), built from the
config, SyncBN reverted to BN as mmengine's runner does on a non-distributed run, and driven as
mmengine's train loop drives it: ``model.train_step(data, optim_wrapper)`` with an
:class:`mmengine.optim.OptimWrapper` (data preprocessor, loss parsing, backward and SGD step
included).

B (reference): the same computation written by hand with plain modules called directly:
torchvision's ``resnet18`` trunk on the 3 views, ``nn.Sequential`` projector/predictor MLPs,
an explicit momentum update of a copied target network, the ContraWarping loss formula, a
deconv heatmap head + MSE on the heatmaps weighted by w² (Eq. (5)), and ``torch.optim.SGD``.

Both start from the same weights (B is loaded from A's state dicts) and consume the same batch,
produced once by the real view pipeline (ContraWarpViews + PackContraWarpInputs, MSRAHeatmap
targets) on synthetic faces, then collated with ``default_collate``. The losses of the first two
steps are compared (the second checks that the SGD step and the momentum update agree too);
after a warm-up, A and B are timed in interleaved blocks (A B, B A, ...) so that load changes on
a shared machine hit both. Prints the median ms/iteration of each and the ratio A / B (goal
<= 1.10); a final ``BENCH_RESULT {json}`` line summarises the run. Timings are never asserted.

Usage::

    python benchmarks/bench_train_step.py [--iters 20] [--batch-size 32] [--img-size 112]
        [--threads 2] [--warmup 3] [--block 1]
"""
import argparse
import copy
import json
import math
import os
import random
import os.path as osp
import statistics
import sys
import time

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIG = osp.join(REPO, 'configs', 'contrawarp',
                  'contrawarp-byol_resnet18_8xb512-lars-coslr-50e_ms1m.py')


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--iters', type=int, default=20, help='timed iterations per method')
    p.add_argument('--batch-size', type=int, default=32)
    p.add_argument('--img-size', type=int, default=112, help='view size in pixels')
    p.add_argument('--threads', type=int, default=2, help='torch threads for BOTH methods')
    p.add_argument('--warmup', type=int, default=3,
                   help='untimed iterations per method first (at least 2: the loss checks)')
    p.add_argument('--block', type=int, default=1,
                   help='iterations per interleaved timing block')
    p.add_argument('--lr', type=float, default=0.01)
    p.add_argument('--max-iters', type=int, default=10000,
                   help='schedule length seen by the CosineEMA momentum')
    p.add_argument('--config', default=CONFIG)
    p.add_argument('--seed', type=int, default=0)
    args = p.parse_args(argv)
    for name in ('iters', 'batch_size', 'img_size', 'threads', 'block'):
        if getattr(args, name) < 1:
            p.error(f'--{name.replace("_", "-")} must be >= 1, got {getattr(args, name)}')
    if args.img_size < 32:
        p.error(f'--img-size must be >= 32 (ResNet-18 stride), got {args.img_size}')
    args.warmup = max(args.warmup, 2)
    return args


def heatmap_side(img_size: int, num_deconvs: int = 3) -> int:
    """Side of the landmark head's heatmaps: ResNet's 5 stride-2 stages round up (k3/k7 convs
    with padding), so the last map is ceil(S / 32), then each deconv doubles it."""
    return math.ceil(img_size / 32) * 2**num_deconvs


# --------------------------------------------------------------------------- data + models
def build_batch(cfg, args):
    """One collated batch from the real ContraWarping view pipeline on synthetic faces."""
    import numpy as np
    from mmcv.transforms import Compose
    from mmengine.dataset import default_collate

    from mmfer.datasets.synthetic import SyntheticFaceGenerator
    from mmfer.registry import TRANSFORMS

    s = args.img_size
    views = copy.deepcopy(cfg.contrawarp_views)
    for pipe in views['view_pipelines']:
        for t in pipe:
            if t['type'] in ('FaceResize', 'RandomResizedCrop'):
                t['scale'] = s
    hm = heatmap_side(s)
    views['codec'] = dict(views['codec'], input_size=(s, s), heatmap_size=(hm, hm))
    pipeline = Compose([TRANSFORMS.build(views),
                        TRANSFORMS.build(dict(type='PackContraWarpInputs'))])
    random.seed(args.seed)
    np.random.seed(args.seed)  # mmcv's random transforms draw from numpy's global state
    gen = SyntheticFaceGenerator(image_size=112, seed=args.seed)  # MS1M crops are 112 px
    samples = []
    for i, face in enumerate(gen.sample(args.batch_size, seed=args.seed, num_identities=8)):
        samples.append(pipeline(dict(img=face['img'], gt_keypoints=face['keypoints'],
                                     img_path=f'synthetic/{i:06d}.jpg', sample_idx=i)))
    return default_collate(samples)


def build_mmfer(cfg, args):
    from mmengine.model import revert_sync_batchnorm
    from mmengine.optim import build_optim_wrapper

    from mmfer.registry import MODELS
    model = MODELS.build(cfg.model)
    model.init_weights()
    model = revert_sync_batchnorm(model)  # what mmengine's Runner does without a launcher
    model.train()
    optim_wrapper = build_optim_wrapper(
        model, dict(type='OptimWrapper',
                    optimizer=dict(type='SGD', lr=args.lr, momentum=0.9, weight_decay=1e-4)))
    return model, optim_wrapper


class PlainContraWarpBYOL:
    """The reference: ContraWarping-BYOL with plain torch modules and an explicit loop.

    Args:
        model: The mmfer model whose weights, hyper-parameters and normalisation are copied.
        lr (float): SGD learning rate (momentum 0.9, weight decay 1e-4, as A's optimizer).
        max_iters (int): Schedule length of the cosine momentum.
    """

    def __init__(self, model, lr: float, max_iters: int) -> None:
        import torch
        import torch.nn as nn
        import torchvision

        # backbone: torchvision ResNet-18 trunk (same parameter names as mmpretrain's ResNet)
        net = torchvision.models.resnet18(weights=None)
        net.fc = nn.Identity()
        missing, unexpected = net.load_state_dict(model.backbone.state_dict(), strict=False)
        if missing or unexpected:
            raise RuntimeError(f'backbone weights do not map onto torchvision resnet18: '
                               f'missing {missing}, unexpected {unexpected}')
        self.backbone = net
        self.projector = self._mlp(model.neck)
        self.predictor = self._mlp(model.head.predictor)
        head = model.landmark_head
        layers = []
        for m in head.deconv_layers:
            if isinstance(m, nn.ConvTranspose2d):
                layers.append(nn.ConvTranspose2d(m.in_channels, m.out_channels, m.kernel_size,
                                                 m.stride, m.padding, m.output_padding,
                                                 bias=False))
            elif isinstance(m, nn.BatchNorm2d):
                layers.append(nn.BatchNorm2d(m.num_features))
            elif isinstance(m, nn.ReLU):
                layers.append(nn.ReLU(inplace=True))
            else:
                raise TypeError(f'unexpected deconv layer {m}')
        if len(list(head.conv_layers.children())):
            raise TypeError('the reference supports heads without extra conv layers')
        f = head.final_layer
        layers.append(nn.Conv2d(f.in_channels, f.out_channels, f.kernel_size, f.stride,
                                f.padding, bias=f.bias is not None))
        self.lm_head = nn.Sequential(*layers)
        self.lm_head.load_state_dict(
            {**{f'{k}': v for k, v in head.deconv_layers.state_dict().items()},
             **{f'{len(layers) - 1}.{k}': v for k, v in head.final_layer.state_dict().items()}})

        self.online = nn.ModuleList([self.backbone, self.projector, self.predictor,
                                     self.lm_head]).train()
        self.target_backbone = copy.deepcopy(self.backbone).requires_grad_(False)
        self.target_projector = copy.deepcopy(self.projector).requires_grad_(False)
        self.target = nn.ModuleList([self.target_backbone, self.target_projector]).train()
        self.target_params = [p for p in self.target.parameters()]
        self.source_params = [p for p in (*self.backbone.parameters(),
                                          *self.projector.parameters())]
        self.target_buffers = list(self.target.buffers())
        self.source_buffers = list(nn.ModuleList([self.backbone, self.projector]).buffers())
        self.base_m = float(model.target_net.momentum)
        self.end_m = float(model.target_net.end_momentum)
        self.max_iters = max_iters
        self.steps = 0
        cw_loss = model.head.loss_module
        self.s_t = float(cw_loss.target_similarity)
        self.w12 = float(cw_loss.loss_weight_12)
        self.w13 = float(cw_loss.loss_weight_13)
        self.weight_power = 2 if model.landmark_head.weight_squared else 1
        self.lam = float(model.landmark_loss_weight)
        pre = model.data_preprocessor
        self.mean, self.std = pre.mean.clone(), pre.std.clone()
        self.optimizer = torch.optim.SGD(self.online.parameters(), lr=lr, momentum=0.9,
                                         weight_decay=1e-4)

    @staticmethod
    def _mlp(neck):
        """Linear-BN-ReLU-Linear copy of a 2-layer mmpretrain ``NonLinearNeck``."""
        import torch.nn as nn
        fc0, bn0, fc1 = neck.fc0, neck.bn0, neck.fc1
        if len(neck.fc_names) != 1 or neck.bn_names != [None]:
            raise TypeError('the reference supports 2-layer necks without a last BN')
        mlp = nn.Sequential(
            nn.Linear(fc0.in_features, fc0.out_features, bias=fc0.bias is not None),
            nn.BatchNorm1d(bn0.num_features), nn.ReLU(inplace=True),
            nn.Linear(fc1.in_features, fc1.out_features, bias=fc1.bias is not None))
        state = {}
        for i, mod in ((0, fc0), (1, bn0), (3, fc1)):
            state.update({f'{i}.{k}': v for k, v in mod.state_dict().items()})
        mlp.load_state_dict(state)
        return mlp

    @staticmethod
    def _trunk(net, x):
        """torchvision ResNet up to layer4: (N, 3, H, W) -> (N, 512, ceil(H/32), ceil(W/32))."""
        x = net.maxpool(net.relu(net.bn1(net.conv1(x))))
        return net.layer4(net.layer3(net.layer2(net.layer1(x))))

    @staticmethod
    def _project(mlp, fmap):
        """Global average pool + MLP: (N, C, h, w) -> (N, D)."""
        import torch.nn.functional as F
        return mlp(F.adaptive_avg_pool2d(fmap, 1).flatten(1))

    def step(self, inputs, heatmaps, weights):
        """One training step.

        Args:
            inputs (list[Tensor]): 3 uint8 (N, 3, H, W) BGR views.
            heatmaps (Tensor): (N, 2, K, h, w) targets of x1 and x3.
            weights (Tensor): (N, 2, K) keypoint weights.

        Returns:
            float: the total loss.
        """
        import torch
        import torch.nn.functional as F
        views = [(x[:, [2, 1, 0]].float() - self.mean) / self.std for x in inputs]
        feats = [self._trunk(self.backbone, x) for x in views]
        preds = [self.predictor(self._project(self.projector, f)) for f in feats]
        with torch.no_grad():
            if self.steps == 0:
                torch._foreach_copy_(self.target_params, self.source_params)
            else:
                anneal = (math.cos(math.pi * self.steps / self.max_iters) + 1) / 2
                m = self.end_m - (self.end_m - self.base_m) * anneal
                for pt, ps in zip(self.target_params, self.source_params):
                    pt.mul_(1 - m).add_(ps, alpha=m)
            for bt, bs in zip(self.target_buffers, self.source_buffers):
                bt.copy_(bs)
            self.steps += 1
            targets = [F.normalize(self._project(self.target_projector,
                                                 self._trunk(self.target_backbone, x)), dim=1)
                       for x in views]
        p1, p2, p3 = (F.normalize(p, dim=1) for p in preds)
        z1, z2, z3 = targets
        sim12 = 0.5 * ((p1 * z2).sum(1) + (p2 * z1).sum(1))
        sim13 = 0.5 * ((p1 * z3).sum(1) + (p3 * z1).sum(1))
        loss = -self.w12 * sim12.mean() + self.w13 * sim13.clamp(min=self.s_t).mean()
        for v, f in ((0, feats[0]), (1, feats[2])):
            w = weights[:, v, :, None, None]**self.weight_power  # Eq. (5): w²
            err = (self.lm_head(f) - heatmaps[:, v])**2 * w
            loss = loss + self.lam * err.mean()
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()
        return float(loss.detach())


# --------------------------------------------------------------------------------- main
def main(argv=None):
    args = parse_args(argv)
    os.environ['OMP_NUM_THREADS'] = str(args.threads)
    import cv2
    import torch
    from mmengine.config import Config
    from mmengine.logging import MessageHub, MMLogger

    from mmfer.utils import register_all_modules
    torch.set_num_threads(args.threads)
    cv2.setNumThreads(1)
    register_all_modules(init_default_scope=True)
    torch.manual_seed(args.seed)
    MessageHub.get_current_instance().update_info('max_iters', args.max_iters)
    MMLogger.get_instance('mmengine', log_level='WARNING')  # no per-parameter init log

    cfg = Config.fromfile(args.config)
    t0 = time.perf_counter()
    data = build_batch(cfg, args)
    t_data = time.perf_counter() - t0
    model, optim_wrapper = build_mmfer(cfg, args)
    plain = PlainContraWarpBYOL(model, args.lr, args.max_iters)
    if model.landmark_head is None:
        raise ValueError(f'{args.config}: model.landmark_head is None; this benchmark needs the '
                         'landmark branch')
    samples = data['data_samples']
    heatmaps = torch.stack([ds.heatmaps for ds in samples])
    weights = torch.stack([ds.keypoint_weights for ds in samples])
    inputs = data['inputs']
    n_params = sum(p.numel() for p in plain.online.parameters())
    print(f'ContraWarping-BYOL R18 + landmark head ({n_params / 1e6:.1f} M trainable params), '
          f'batch {args.batch_size} x 3 views x {args.img_size} px, heatmaps '
          f'{tuple(heatmaps.shape[-2:])}, torch threads {torch.get_num_threads()}, '
          f'{os.cpu_count()} CPUs (batch built by the view pipeline in {t_data:.1f}s)',
          flush=True)

    def step_mmfer():
        log_vars = model.train_step(data, optim_wrapper)
        return float(log_vars['loss'].detach())  # the total loss that was back-propagated

    def step_plain():
        return plain.step(inputs, heatmaps, weights)

    # correctness: the same losses on the first two steps (the 2nd after one SGD + EMA update)
    losses = []
    for _ in range(2):
        losses.append((step_mmfer(), step_plain()))
    diff1 = abs(losses[0][0] - losses[0][1])
    diff2 = abs(losses[1][0] - losses[1][1])
    print(f'step 1 loss: mmfer {losses[0][0]:.6f}  plain {losses[0][1]:.6f}  '
          f'|diff| {diff1:.2e}')
    print(f'step 2 loss: mmfer {losses[1][0]:.6f}  plain {losses[1][1]:.6f}  '
          f'|diff| {diff2:.2e}', flush=True)
    for _ in range(args.warmup - 2):
        step_mmfer()
        step_plain()

    times = {'mmfer': [], 'plain': []}
    fns = {'mmfer': step_mmfer, 'plain': step_plain}
    n_blocks = math.ceil(args.iters / args.block)
    done = {'mmfer': 0, 'plain': 0}
    for b in range(n_blocks):
        order = ('mmfer', 'plain') if b % 2 == 0 else ('plain', 'mmfer')
        for name in order:
            for _ in range(min(args.block, args.iters - done[name])):
                t0 = time.perf_counter()
                fns[name]()
                times[name].append((time.perf_counter() - t0) * 1e3)
                done[name] += 1
        print(f'  block {b + 1}/{n_blocks}: mmfer {times["mmfer"][-1]:.0f} ms  '
              f'plain {times["plain"][-1]:.0f} ms', flush=True)

    med = {k: statistics.median(v) for k, v in times.items()}
    ratio = med['mmfer'] / med['plain']
    load = os.getloadavg()[0] if hasattr(os, 'getloadavg') else float('nan')
    print(f'median ms/iter over {args.iters} interleaved iterations (load average {load:.1f}):')
    print(f'  mmfer train_step + OptimWrapper : {med["mmfer"]:9.1f} ms '
          f'(min {min(times["mmfer"]):.1f})')
    print(f'  plain PyTorch loop              : {med["plain"]:9.1f} ms '
          f'(min {min(times["plain"]):.1f})')
    print(f'  ratio mmfer / plain             : {ratio:9.3f}  (goal <= 1.10: '
          f'{"met" if ratio <= 1.10 else "NOT met"})')
    result = dict(
        benchmark='train_step', mmfer_ms=round(med['mmfer'], 3), plain_ms=round(med['plain'], 3),
        ratio=round(ratio, 4), goal=1.10, loss_first_mmfer=losses[0][0],
        loss_first_plain=losses[0][1], loss_diff_first=diff1, loss_diff_second=diff2,
        batch_size=args.batch_size, img_size=args.img_size, threads=torch.get_num_threads(),
        iters=args.iters, load_avg=round(load, 2))
    print('BENCH_RESULT ' + json.dumps(result), flush=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
