# Copyright (c) mmfer contributors. All rights reserved.
"""EmoCo against the paper's Eq. (4)-(5) computed independently, and its per-class queues."""
import math
import os
import re
import subprocess
import sys

import pytest
import torch
import torch.nn.functional as F
from mmpretrain.structures import DataSample

from mmfer.models.algorithms.emoco import EmoCo

TAU = 0.2


def _model(encoder, num_classes=3, queue_len=6, feat_dim=5, emo=True, cont=True, **kw):
    backbone, neck = encoder
    m = EmoCo(backbone=backbone, neck=neck,
              head=dict(type='ContrastiveHead', loss=dict(type='mmpretrain.CrossEntropyLoss'),
                        temperature=TAU) if cont else None,
              emo_head=dict(type='EmotionClsHead', num_classes=num_classes,
                            in_channels=feat_dim) if emo else None,
              num_classes=num_classes, queue_len=queue_len, feat_dim=feat_dim, **kw)
    return m.double()


def _samples(labels):
    return [DataSample().set_gt_label(int(y)) for y in labels]


def _unit(v):
    return v / math.sqrt(float((v ** 2).sum()))


def _expected(q, k, labels, queue, weight, multi_queue=True, intra=True, emo=True):
    """Eq. (4)-(5) with loops, float64."""
    cont = []
    for i in range(len(labels)):
        y = int(labels[i])

        def nrm(v):
            return _unit(v - _unit(weight[y])) if intra else v

        qn, kn = nrm(q[i]), nrm(k[i])
        negs = queue[y] if multi_queue else queue[0]
        pos = math.exp(float(qn @ kn) / TAU)
        den = pos + sum(math.exp(float(qn @ nrm(negs[j])) / TAU) for j in range(len(negs)))
        cont.append(-math.log(pos / den))
    out = {'loss_cont': sum(cont) / len(cont)}
    if emo:
        ce = []
        for i in range(len(labels)):
            logits = weight @ q[i]
            ce.append(-float(logits[int(labels[i])]) + math.log(float(torch.exp(logits).sum())))
        out['loss_emo'] = sum(ce) / len(ce)
    return out


@pytest.mark.parametrize('multi_queue,intra', [(True, True), (False, True), (True, False),
                                               (False, False)])
def test_loss_matches_eq4_eq5(identity_encoder, multi_queue, intra):
    torch.manual_seed(0)
    n, d = 7, 5
    model = _model(identity_encoder, use_multi_queue=multi_queue, use_intra_norm=intra)
    queue_before = model.queue.clone()
    labels = torch.tensor([0, 2, 1, 2, 2, 0, 1])
    xq = torch.randn(n, d, 1, 1, dtype=torch.float64)
    xk = torch.randn(n, d, 1, 1, dtype=torch.float64)
    losses = model.loss([xq, xk], _samples(labels))
    q = F.normalize(xq.flatten(1), dim=1)
    k = F.normalize(xk.flatten(1), dim=1)  # first EMA step copies the online encoder
    exp = _expected(q, k, labels, queue_before, model.emo_head.weight.detach(),
                    multi_queue, intra)
    assert losses['loss_cont'].item() == pytest.approx(exp['loss_cont'], rel=1e-9)
    assert losses['loss_emo'].item() == pytest.approx(exp['loss_emo'], rel=1e-9)
    assert model.emo_head.fc.bias is None


def test_without_l_emo_is_plain_multi_queue_moco(identity_encoder):
    """The "L_cont alone" ablation: per-class queues, plain L2 normalisation, no classifier."""
    torch.manual_seed(5)
    model = _model(identity_encoder, emo=False, use_intra_norm=False)
    assert model.emo_head is None
    queue_before = model.queue.clone()
    labels = torch.tensor([0, 1, 2, 1])
    xq, xk = torch.randn(4, 5, 1, 1).double(), torch.randn(4, 5, 1, 1).double()
    losses = model.loss([xq, xk], _samples(labels))
    assert set(losses) == {'loss_cont'}
    q, k = F.normalize(xq.flatten(1), dim=1), F.normalize(xk.flatten(1), dim=1)
    exp = _expected(q, k, labels, queue_before, None, True, intra=False, emo=False)
    assert losses['loss_cont'].item() == pytest.approx(exp['loss_cont'], rel=1e-9)
    with pytest.raises(ValueError, match='use_intra_norm=True needs emo_head'):
        _model(identity_encoder, emo=False)


def test_ablation_switches(identity_encoder):
    torch.manual_seed(1)
    xq, xk = torch.randn(4, 5, 1, 1).double(), torch.randn(4, 5, 1, 1).double()
    ds = _samples([0, 1, 2, 0])
    no_cont = _model(identity_encoder, cont=False)
    assert not hasattr(no_cont, 'queue') and not hasattr(no_cont, 'encoder_k')
    assert set(no_cont.loss([xq, xk], ds)) == {'loss_emo', 'acc_emo'}
    with pytest.raises(ValueError, match='needs head'):
        _model(identity_encoder, cont=False, emo=False)
    assert _model(identity_encoder, use_multi_queue=False).queue.shape == (1, 6, 5)
    with pytest.raises(KeyError, match='gt_label'):
        _model(identity_encoder).loss([xq, xk], [DataSample() for _ in range(4)])
    with pytest.raises(ValueError, match=r'labels must be in \[0, 3\)'):
        _model(identity_encoder).loss([xq, xk], _samples([0, 1, 3, 0]))
    with pytest.raises(ValueError, match='emo_head has 3 classes, the model 4'):
        backbone, neck = identity_encoder
        EmoCo(backbone=backbone, neck=neck, head=None, num_classes=4,
              emo_head=dict(type='EmotionClsHead', num_classes=3, in_channels=5))


def test_queues_stay_per_class_and_fixed_size(identity_encoder):
    torch.manual_seed(2)
    c, k_len, d = 3, 4, 5
    model = _model(identity_encoder, num_classes=c, queue_len=k_len, feat_dim=d)
    written = {i: [] for i in range(c)}
    for step in range(6):
        labels = torch.randint(0, c, (5, ))
        labels[0] = step % c
        # key j of step s encodes (class, step, j) so we can find it in the queue
        keys = torch.zeros(5, d, dtype=torch.float64)
        keys[:, 0] = labels.double()
        keys[:, 1] = step
        keys[:, 2] = torch.arange(5).double()
        model._dequeue_and_enqueue(keys, labels)
        for j in range(5):
            written[int(labels[j])].append(keys[j])
        assert model.queue.shape == (c, k_len, d)
    for cls in range(c):
        newest = written[cls][-k_len:]
        n_w = len(written[cls])
        assert int(model.queue_ptr[cls]) == n_w % k_len
        # ring buffer: the last min(K, n_w) keys of the class sit at their ring positions
        for t, key in enumerate(written[cls][-min(k_len, n_w):]):
            pos = (n_w - min(k_len, n_w) + t) % k_len
            assert torch.equal(model.queue[cls, pos], key)
        assert len(newest) == min(k_len, n_w)
    # a queue that has received >= K keys holds only keys of its own class
    for cls in range(c):
        if len(written[cls]) >= k_len:
            assert (model.queue[cls][:, 0] == cls).all()


def test_more_keys_than_queue_keeps_newest(identity_encoder):
    model = _model(identity_encoder, num_classes=2, queue_len=3, feat_dim=5)
    keys = torch.arange(7 * 5, dtype=torch.float64).view(7, 5)
    model._dequeue_and_enqueue(keys, torch.zeros(7, dtype=torch.long))
    assert int(model.queue_ptr[0]) == 0 and int(model.queue_ptr[1]) == 0
    assert torch.equal(model.queue[0], keys[4:7])


def test_training_step_updates_queue_and_momentum_encoder():
    from mmfer.registry import MODELS
    model = MODELS.build(dict(
        type='EmoCo',
        backbone=dict(type='ResNet', depth=18, norm_cfg=dict(type='BN')),
        neck=dict(type='MoCoV2Neck', in_channels=512, hid_channels=64, out_channels=16,
                  with_avg_pool=True),
        head=dict(type='ContrastiveHead', loss=dict(type='CrossEntropyLoss'), temperature=0.2),
        emo_head=dict(type='EmotionClsHead', num_classes=3, in_channels=16),
        num_classes=3, queue_len=8, feat_dim=16))
    xs = [torch.randn(6, 3, 32, 32) for _ in range(2)]
    labels = [0, 1, 2, 2, 1, 1]
    losses = model.loss(xs, _samples(labels))
    sum(v for key, v in losses.items() if 'loss' in key).backward()
    assert model.emo_head.fc.weight.grad.abs().sum() > 0
    assert model.queue_ptr.tolist() == [1, 3, 2]
    assert torch.allclose(model.queue.norm(dim=2), torch.ones(3, 8), atol=1e-5)


# ----------------------------------------------------------------------------- end to end
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(
    __file__)))))
EMOCO_CFG = os.path.join(REPO, 'configs/emoco/'
                         'emoco_resnet50_4xb64-coslr-200e_affectnet7_k4096.py')


@pytest.fixture(scope='module')
def affectnet_cfg(tmp_path_factory):
    """Synthetic AffectNet (official CSV layout) and a tiny config inheriting the EmoCo one."""
    from mmfer.datasets.synthetic import write_affectnet
    root = tmp_path_factory.mktemp('affectnet')
    write_affectnet(str(root / 'data'), num_train=24, num_val=4, image_size=40, seed=0)
    cfg = root / 'tiny_emoco.py'
    cfg.write_text(f'''
_base_ = [{EMOCO_CFG!r}]
model = dict(queue_len=64, backbone=dict(depth=18),
             neck=dict(in_channels=512, hid_channels=32))
view = [dict(type='RandomResizedCrop', scale=32, crop_ratio_range=(0.5, 1.), backend='pillow'),
        dict(type='RandomFlip', prob=0.5)]
train_dataloader = dict(
    batch_size=4, num_workers=0, persistent_workers=False,
    dataset=dict(data_root={str(root / 'data')!r}, indices=8, pipeline=[
        dict(type='LoadFaceImage'), dict(type='CropFaceBox'),
        dict(type='MultiView', num_views=2, transforms=[view]), dict(type='PackInputs')]))
train_cfg = dict(max_epochs=1)
default_hooks = dict(logger=dict(interval=1))
''')
    return str(cfg)


def _run(cmd, env=None):
    full_env = dict(os.environ, OMP_NUM_THREADS='1', **(env or {}))
    proc = subprocess.run(cmd, cwd=REPO, env=full_env, capture_output=True, text=True,
                          timeout=400)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    return proc.stdout + proc.stderr


def _check_ckpt(path, total_keys):
    from mmfer.utils import load_checkpoint_file
    state = load_checkpoint_file(str(path))['state_dict']
    assert state['queue'].shape == (7, 64, 128)
    # every key of every rank went into exactly one class queue (no wrap-around at K = 64)
    assert int(state['queue_ptr'].sum()) == total_keys
    assert torch.allclose(state['queue'].norm(dim=2), torch.ones(7, 64), atol=1e-4)
    assert 'emo_head.fc.weight' in state and 'emo_head.fc.bias' not in state


@pytest.mark.slow
def test_dist_train_two_cpu_processes_gathers_keys(affectnet_cfg, tmp_path):
    """tools/dist_train.sh -> torchrun (2 CPU processes, gloo) -> tools/train.py."""
    import socket
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
    work = tmp_path / 'work'
    log = _run(['bash', 'tools/dist_train.sh', affectnet_cfg, '2', '--work-dir', str(work),
                '--cfg-options', 'train_dataloader.batch_size=2'],
               env=dict(PYTHON=sys.executable, PORT=str(port)))
    cont = [float(v) for v in re.findall(r'loss_cont: ([0-9.]+)', log)]
    emo = [float(v) for v in re.findall(r'loss_emo: ([0-9.]+)', log)]
    assert len(cont) == 2 and len(emo) == 2
    assert all(math.isfinite(v) and v > 0 for v in cont + emo)
    # 8 samples, 2 ranks x 2 per step: 2 steps, each enqueueing the 4 keys gathered over
    # both ranks (without the gather rank 0 would hold only its own 4)
    _check_ckpt(work / 'epoch_1.pth', total_keys=8)
