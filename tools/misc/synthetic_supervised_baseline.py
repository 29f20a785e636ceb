# Copyright (c) mmfer contributors. All rights reserved.
"""Supervised ResNet-18 on synthetic faces: is expression learnable, and does identity leak it?

Trains mmpretrain's ResNet-18 (built through ``mmfer.registry.MODELS``) + a linear layer to
predict the 8 expression classes from synthetic faces, then reports test accuracy on people
seen in training and on unseen people. The leakage check fits the best possible classifier of
expression from identity alone (per-identity majority class = logistic regression on the
identity one-hot without regularisation) and a chi-square test of independence; both must
be at chance (12.5 %) because the generator draws identity and expression independently.

Example (about 3 minutes on 2 idle CPU cores)::

    OMP_NUM_THREADS=2 python tools/misc/synthetic_supervised_baseline.py --out baseline.json
"""
import argparse
import json
import math
import os
import sys
import time

import numpy as np


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--num-train', type=int, default=2000)
    p.add_argument('--num-test', type=int, default=500)
    p.add_argument('--num-identities', type=int, default=40)
    p.add_argument('--image-size', type=int, default=64)
    p.add_argument('--epochs', type=int, default=6)
    p.add_argument('--max-minutes', type=float, default=4.0,
                   help='wall-clock training budget: the learning rate decays to 0 over '
                   'min(epochs, budget) and training stops when it is spent')
    p.add_argument('--batch-size', type=int, default=64)
    p.add_argument('--lr', type=float, default=2e-3)
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--out', default=None, help='write the numbers to this JSON file')
    args = p.parse_args(argv)
    for k in ('num_train', 'num_test', 'num_identities', 'epochs', 'batch_size'):
        if getattr(args, k) < 1:
            p.error(f'--{k.replace("_", "-")} must be >= 1')
    return args


def make_set(gen, num, seed, num_identities, identity_offset=0):
    xs, ys, ids = [], [], []
    for f in gen.sample(num, seed=seed, num_identities=num_identities,
                        identity_offset=identity_offset):
        xs.append(f['img'])
        ys.append(f['gt_label'])
        ids.append(f['identity'])
    return np.stack(xs), np.array(ys), np.array(ids)


def to_tensor(x):
    import torch
    t = torch.from_numpy(x[..., ::-1].copy()).permute(0, 3, 1, 2).float() / 255.0
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    return (t - mean) / std


def build_model(num_classes: int):
    import torch.nn as nn

    from mmfer.registry import MODELS
    backbone = MODELS.build(dict(type='ResNet', depth=18, out_indices=(3, )))
    neck = MODELS.build(dict(type='GlobalAveragePooling'))

    class Net(nn.Module):

        def __init__(self):
            super().__init__()
            self.backbone, self.neck = backbone, neck
            self.fc = nn.Linear(512, num_classes)

        def forward(self, x):
            return self.fc(self.neck(self.backbone(x))[-1])

    return Net()


def accuracy(model, x, y, batch_size=256) -> float:
    import torch
    model.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(x), batch_size):
            pred = model(x[i:i + batch_size]).argmax(1)
            correct += int((pred == y[i:i + batch_size]).sum())
    return correct / len(x)


def leakage(ids_tr, y_tr, ids_te, y_te, num_classes):
    """Expression-from-identity: per-identity majority class, and a chi-square test."""
    from scipy.stats import chi2_contingency
    uniq = np.unique(np.concatenate([ids_tr, ids_te]))
    table = np.zeros((len(uniq), num_classes), np.int64)
    pos = {k: i for i, k in enumerate(uniq)}
    for i, y in zip(ids_tr, y_tr):
        table[pos[i], y] += 1
    majority = table.argmax(1)
    acc = float(np.mean([majority[pos[i]] == y for i, y in zip(ids_te, y_te)]))
    rows = table.sum(1) > 0
    chi2, p_value, dof, _ = chi2_contingency(table[rows][:, table.sum(0) > 0])
    chance = 1.0 / num_classes
    half = 1.96 * math.sqrt(chance * (1 - chance) / len(y_te))
    return dict(identity_to_expression_acc=acc, chance=chance,
                chance_95_interval=[chance - half, chance + half], chi2=float(chi2),
                chi2_dof=int(dof), chi2_p_value=float(p_value),
                at_chance=bool(acc <= chance + half))


def main(argv=None) -> int:
    args = parse_args(argv)
    import torch
    from mmengine.utils import ProgressBar

    from mmfer.datasets.synthetic import EXPRESSION_CLASSES, SyntheticFaceGenerator
    from mmfer.utils import register_all_modules
    register_all_modules(init_default_scope=True)
    torch.manual_seed(args.seed)
    threads = int(os.environ.get('OMP_NUM_THREADS', '0') or 0)
    if threads > 0:
        torch.set_num_threads(threads)
    ncls = len(EXPRESSION_CLASSES)
    gen = SyntheticFaceGenerator(args.image_size, seed=args.seed)
    t0 = time.perf_counter()
    x_tr, y_tr, id_tr = make_set(gen, args.num_train, args.seed * 3 + 1, args.num_identities)
    x_te, y_te, id_te = make_set(gen, args.num_test, args.seed * 3 + 2, args.num_identities)
    n_unseen_ids = max(2, args.num_identities // 4)
    x_un, y_un, _ = make_set(gen, args.num_test, args.seed * 3 + 3, n_unseen_ids,
                             identity_offset=args.num_identities)
    t_gen = time.perf_counter() - t0
    n_faces = args.num_train + 2 * args.num_test
    print(f'rendered {n_faces} faces of {args.image_size} px in {t_gen:.1f} s '
          f'({n_faces / t_gen:.0f} faces/s)')

    X_tr, Y_tr = to_tensor(x_tr), torch.from_numpy(y_tr)
    X_te, Y_te = to_tensor(x_te), torch.from_numpy(y_te)
    X_un, Y_un = to_tensor(x_un), torch.from_numpy(y_un)
    model = build_model(ncls)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.05)
    steps_per_epoch = math.ceil(len(X_tr) / args.batch_size)
    total_steps = args.epochs * steps_per_epoch
    budget = args.max_minutes * 60
    loss_fn = torch.nn.CrossEntropyLoss()
    t_train = time.perf_counter()
    epochs_run, step, done = 0, 0, False
    bar = ProgressBar(total_steps)
    for epoch in range(args.epochs):
        model.train()
        perm = torch.randperm(len(X_tr))
        total, seen = 0.0, 0
        for i in range(0, len(X_tr), args.batch_size):
            # warm-up then cosine decay over whichever runs out first: the steps or the
            # wall-clock budget, so a busy machine still ends with an annealed model
            progress = max(step / total_steps, (time.perf_counter() - t_train) / budget)
            if progress >= 1.0:
                done = True
                break
            warm = min(1.0, (step + 1) / steps_per_epoch)
            for g in opt.param_groups:
                g['lr'] = args.lr * warm * 0.5 * (1 + math.cos(math.pi * progress))
            idx = perm[i:i + args.batch_size]
            loss = loss_fn(model(X_tr[idx]), Y_tr[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            step += 1
            bar.update()
            total += loss.item() * len(idx)
            seen += len(idx)
        if seen:
            epochs_run += 1
            acc = accuracy(model, X_te, Y_te)
            print(f'\nepoch {epoch + 1}/{args.epochs}: train loss {total / seen:.3f}, '
                  f'test acc (seen ids) {acc:.3f}, {time.perf_counter() - t_train:.0f} s',
                  flush=True)
        if done:
            print(f'training time budget of {args.max_minutes} min reached after {step} of '
                  f'{total_steps} steps (the learning rate was annealed to the budget)')
            break
    res = dict(
        image_size=args.image_size, num_train=args.num_train, num_test=args.num_test,
        num_identities=args.num_identities, epochs=epochs_run, steps=step,
        total_steps=total_steps,
        train_seconds=time.perf_counter() - t_train, torch_threads=torch.get_num_threads(),
        expression_acc_seen_ids=accuracy(model, X_te, Y_te),
        expression_acc_unseen_ids=accuracy(model, X_un, Y_un),
        train_acc=accuracy(model, X_tr, Y_tr), chance=1.0 / ncls)
    res['leakage'] = leakage(id_tr, y_tr, id_te, y_te, ncls)
    lk = res['leakage']
    print('\n== synthetic supervised baseline ==')
    print(f"expression accuracy, 8 classes (chance {1 / ncls:.3f}): "
          f"seen identities {res['expression_acc_seen_ids']:.3f}, "
          f"unseen identities {res['expression_acc_unseen_ids']:.3f}, "
          f"train {res['train_acc']:.3f} ({epochs_run} epochs, {step}/{total_steps} steps, "
          f"{res['train_seconds']:.0f} s, {res['torch_threads']} threads)")
    print(f"leakage: expression from identity acc {lk['identity_to_expression_acc']:.3f} "
          f"(chance {lk['chance']:.3f}, 95% interval {lk['chance_95_interval'][0]:.3f}-"
          f"{lk['chance_95_interval'][1]:.3f}), chi2 p={lk['chi2_p_value']:.3f}: "
          f"{'at chance' if lk['at_chance'] else 'ABOVE CHANCE'}")
    if args.out:
        if os.path.dirname(args.out):
            os.makedirs(os.path.dirname(args.out), exist_ok=True)
        with open(args.out, 'w') as f:
            json.dump(res, f, indent=1)
        print(f'numbers written to {args.out}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
