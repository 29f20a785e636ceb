# Copyright (c) mmfer contributors. All rights reserved.
"""The conv-flatten neck of the ABAW5 frame classifiers (Xue, Sun, Yang, ABAW5 2023)."""
from typing import Optional, Sequence, Tuple, Union

import torch
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule

from mmfer.registry import MODELS


def _pair(value: Union[int, Sequence[int]], name: str) -> Tuple[int, int]:
    if isinstance(value, int):
        return value, value
    value = tuple(int(v) for v in value)
    if len(value) != 2:
        raise ValueError(f'SpatialFlatten: {name} must be an int or (h, w), got {value}')
    return value


def spatial_flatten_output_size(input_size: Union[int, Sequence[int]],
                                kernel_size: int = 2,
                                strides: Sequence[int] = (1, 2),
                                paddings: Optional[Sequence[int]] = None,
                                ) -> Tuple[Tuple[int, int], ...]:
    """Spatial sizes after each conv of :class:`SpatialFlatten`.

    Args:
        input_size (int | (int, int)): Input feature map size (h, w).
        kernel_size (int): Conv kernel size. Defaults to 2.
        strides (Sequence[int]): One stride per conv. Defaults to (1, 2).
        paddings (Sequence[int], optional): One padding per conv; zeros when None.

    Returns:
        tuple[(int, int)]: (h, w) after every conv, last one first-to-last.

    Raises:
        ValueError: A conv would get a map smaller than its kernel.
    """
    h, w = _pair(input_size, 'input_size')
    paddings = [0] * len(strides) if paddings is None else list(paddings)
    sizes = []
    for i, (s, p) in enumerate(zip(strides, paddings)):
        nh = (h + 2 * p - kernel_size) // s + 1
        nw = (w + 2 * p - kernel_size) // s + 1
        if nh < 1 or nw < 1:
            raise ValueError(
                f'SpatialFlatten: conv {i} (kernel {kernel_size}, stride {s}, padding {p}) '
                f'cannot run on a {h}x{w} map (input_size={_pair(input_size, "input_size")}); '
                'use a larger input image or smaller strides')
        h, w = nh, nw
        sizes.append((h, w))
    return tuple(sizes)


@MODELS.register_module()
class SpatialFlatten(BaseModule):
    """Conv(k=2)+BN+ReLU layers then flatten, keeping the spatial layout.

    Instead of global average pooling, the last backbone map is reduced by ``len(strides)``
    convolutions with ``channels`` filters and flattened (ABAW5 paper, Sec. 3.1: kernel 2,
    hidden dimension 256). With the defaults, a ResNet-50 map of 2048x7x7 (224x224 input)
    becomes::

        2048x7x7 --conv k=2, s=1--> 256x6x6   (7 - 2) // 1 + 1 = 6
                 --conv k=2, s=2--> 256x3x3   (6 - 2) // 2 + 1 = 3
                 --flatten-------> 256 * 3 * 3 = 2304-d

    The paper's text says "two convolutional layers with stride 2", which would give
    7 -> 3 -> 1 (a 256-d vector); the authors' released code (``SpatialFlatten`` of
    github.com/youqingxiaozhua/ABAW5: the first conv has the default stride 1, the second
    stride 2, and the classifier takes 2304 inputs) uses strides (1, 2). We follow the
    released code; ``strides=(2, 2)`` gives the text's reading.

    The flattened size is computed from ``in_channels``/``input_size`` and exposed as
    :attr:`out_channels` (configs derive ``head.in_channels`` from it). ``forward`` checks the
    incoming map against ``in_channels`` and ``input_size`` and raises a ``ValueError`` that
    names the keys to change, instead of a shape error inside the head's linear layer.

    Args:
        in_channels (int): Channels of the backbone's last map (2048 for ResNet-50,
            512 for ResNet-18).
        input_size (int | (int, int)): Spatial size of that map (input size / 32 for
            ResNets). Defaults to 7.
        channels (int): Filters of every conv. Defaults to 256.
        kernel_size (int): Kernel of every conv. Defaults to 2.
        strides (Sequence[int]): One stride per conv; its length is the number of convs.
            Defaults to (1, 2).
        paddings (Sequence[int], optional): One padding per conv; zeros when None.
        norm_cfg (dict): Norm layer config. Defaults to ``dict(type='BN')``.
        act_cfg (dict): Activation config. Defaults to ``dict(type='ReLU')``.
        init_cfg (dict | list[dict], optional): Initialisation config.
    """

    def __init__(self,
                 in_channels: int,
                 input_size: Union[int, Sequence[int]] = 7,
                 channels: int = 256,
                 kernel_size: int = 2,
                 strides: Sequence[int] = (1, 2),
                 paddings: Optional[Sequence[int]] = None,
                 norm_cfg: dict = dict(type='BN'),
                 act_cfg: dict = dict(type='ReLU'),
                 init_cfg: Optional[Union[dict, list]] = dict(
                     type='Kaiming', layer='Conv2d', nonlinearity='relu')) -> None:
        super().__init__(init_cfg=init_cfg)
        if len(strides) == 0:
            raise ValueError('SpatialFlatten: strides must name at least one conv')
        paddings = [0] * len(strides) if paddings is None else list(paddings)
        if len(paddings) != len(strides):
            raise ValueError(f'SpatialFlatten: paddings {paddings} and strides '
                             f'{list(strides)} must have the same length')
        self.in_channels = int(in_channels)
        self.input_size = _pair(input_size, 'input_size')
        self.channels = int(channels)
        self.kernel_size = int(kernel_size)
        self.strides = tuple(int(s) for s in strides)
        self.paddings = tuple(int(p) for p in paddings)
        self.sizes = spatial_flatten_output_size(self.input_size, self.kernel_size,
                                                 self.strides, self.paddings)
        convs = []
        c_in = self.in_channels
        for s, p in zip(self.strides, self.paddings):
            convs.append(
                ConvModule(c_in, self.channels, self.kernel_size, stride=s, padding=p,
                           norm_cfg=norm_cfg, act_cfg=act_cfg))
            c_in = self.channels
        self.convs = torch.nn.Sequential(*convs)

    @property
    def output_size(self) -> Tuple[int, int]:
        """(h, w) of the last conv's output."""
        return self.sizes[-1]

    @property
    def out_channels(self) -> int:
        """Length of the flattened output vector (``channels * h * w``)."""
        h, w = self.output_size
        return self.channels * h * w

    def check_head_in_channels(self, head_in_channels: int,
                               key: str = 'model.head.in_channels') -> None:
        """Raise a ``ValueError`` naming ``key`` if it differs from :attr:`out_channels`."""
        if int(head_in_channels) != self.out_channels:
            raise ValueError(
                f'{key}={head_in_channels} does not match SpatialFlatten\'s output: '
                f'{self.in_channels}x{self.input_size[0]}x{self.input_size[1]} -> '
                f'{self.channels}x{self.output_size[0]}x{self.output_size[1]} = '
                f'{self.out_channels}; set {key}={self.out_channels}')

    def _check_input(self, x: torch.Tensor) -> None:
        if x.dim() != 4:
            raise ValueError(f'SpatialFlatten expects N x C x H x W maps, got shape '
                             f'{tuple(x.shape)}')
        c, h, w = x.shape[1:]
        if c != self.in_channels or (h, w) != self.input_size:
            try:
                actual = spatial_flatten_output_size((h, w), self.kernel_size, self.strides,
                                                     self.paddings)[-1]
                hint = (f'; for this map set model.neck.in_channels={c}, '
                        f'model.neck.input_size={(h, w)} and model.head.in_channels='
                        f'{self.channels * actual[0] * actual[1]}')
            except ValueError as e:
                hint = f'; {e}'
            raise ValueError(
                f'SpatialFlatten(in_channels={self.in_channels}, input_size='
                f'{self.input_size}) got a {c}x{h}x{w} feature map (configured output '
                f'{self.out_channels}-d){hint}')

    def forward(self, inputs: Union[Tuple[torch.Tensor, ...], torch.Tensor]
                ) -> Tuple[torch.Tensor]:
        """Reduce and flatten the last feature map.

        Args:
            inputs (tuple[Tensor] | Tensor): Backbone outputs; the last one,
                N x in_channels x H x W with (H, W) = ``input_size``, is used.

        Returns:
            tuple[Tensor]: one N x :attr:`out_channels` tensor.
        """
        if isinstance(inputs, (tuple, list)):
            x = inputs[-1]
        elif isinstance(inputs, torch.Tensor):
            x = inputs
        else:
            raise TypeError(f'SpatialFlatten inputs must be a tuple of tensors or a tensor, '
                            f'got {type(inputs)}')
        self._check_input(x)
        x = self.convs(x)
        return (x.flatten(1), )
