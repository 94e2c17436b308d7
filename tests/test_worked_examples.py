"""Worked examples from tutorials on transposed convolution, as test vectors.

- TensorFlow's ``tf.nn.conv2d_transpose`` worked example (2x2 input, 3x3 kernel, stride 2) and the output
  TensorFlow prints for it;
- a hand-written ``ConvTranspose2d`` (zero insertion + flipped kernel, checked against PyTorch in its tutorial),
  ported line by line;
- the sizes of an n-times up-sampling (``S = n, F = n + 2P``) checked with ``torch.nn.ConvTranspose2d``;
- the matrix view: a 3x3 kernel on a 4x4 input is a 4x16 matrix ``C`` (Naoki Shibuya, "Up-sampling with
  Transposed Convolution", 2017), and a 2x2 kernel on a 3x3 input a 9x4 one.
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers import assert_close, oracle, torch_conv, torch_conv_transpose

import tconv

# TensorFlow's worked example: tf.nn.conv2d_transpose(x, f, output_shape=(1, 5, 5, 1), strides=2,
# padding='VALID'), and the output TensorFlow prints for it (an independent oracle).
TF_EXAMPLE_X = np.array([[[[-67], [-77]], [[-117], [-127]]]], dtype=np.float32)  # NHWC (1, 2, 2, 1)
TF_EXAMPLE_F = np.array(
    [[[[-1]], [[2]], [[-3]]], [[[4]], [[-5]], [[6]]], [[[-7]], [[8]], [[-9]]]], dtype=np.float32
)  # TF layout (h, w, out, in) = (3, 3, 1, 1)
TF_EXAMPLE_OUTPUT = np.array(
    [
        [67, -134, 278, -154, 231],
        [-268, 335, -710, 385, -462],
        [586, -770, 1620, -870, 1074],
        [-468, 585, -1210, 635, -762],
        [819, -936, 1942, -1016, 1143],
    ],
    dtype=np.float32,
)


@pytest.mark.parametrize("algorithm", ("auto", *tconv.algorithms()))
def test_tensorflow_worked_example(algorithm):
    """The first output is 67 = -67 * -1, not 603; every other value as TensorFlow printed."""
    weight = TF_EXAMPLE_F.transpose(3, 2, 0, 1)  # TF (h, w, out, in) -> (in, out, h, w), no flip
    y = tconv.conv_transpose(TF_EXAMPLE_X, weight, stride=2, layout="channels_last", algorithm=algorithm)
    assert y.shape == (1, 5, 5, 1)
    assert y[0, 0, 0, 0] == 67
    assert_close(y[0, :, :, 0], TF_EXAMPLE_OUTPUT, dtype=np.float32)


class MyTranspose2d:
    """A tutorial's hand-written ConvTranspose2d, ported line by line from torch to NumPy.

    It inserts stride zeros into a padded buffer and correlates with the flipped
    kernel: an implementation independent of tconv's.
    """

    def __init__(self, weight, bias, kernel_size, padding, stride):
        self.weight, self.bias = weight, bias
        self.padding, self.stride, self.F = padding, stride, kernel_size
        self.inchannel, self.outchannel = weight.shape[:2]

    def forward(self, input):
        N, C, H, W = input.shape
        assert C == self.inchannel
        Co = self.outchannel
        Ho = (H - 1) * self.stride - 2 * self.padding + self.F
        Wo = (W - 1) * self.stride - 2 * self.padding + self.F
        output = np.zeros((N, Co, Ho, Wo))
        padding_input = np.zeros(
            (
                N,
                C,
                (H - 1) * self.stride - 1 + 2 * self.F - 2 * self.padding,
                (W - 1) * self.stride - 1 + 2 * self.F - 2 * self.padding,
            )
        )
        for i in range(N):
            for c in range(C):
                for j in range(H):
                    for k in range(W):
                        jp = self.F - 1 - self.padding + j * self.stride
                        kp = self.F - 1 - self.padding + k * self.stride
                        padding_input[i, c, jp, kp] = input[i, c, j, k]
        for i in range(N):
            for c in range(Co):
                for j in range(Ho):
                    for k in range(Wo):
                        jf, kf = j + self.F, k + self.F
                        output[i, c, j, k] = (
                            np.flip(self.weight[:, c, :, :], (1, 2)) * padding_input[i, :, j:jf, k:kf]
                        ).sum() + self.bias[c]
        return output


@pytest.mark.parametrize("algorithm", tconv.algorithms())
def test_hand_written_transpose(algorithm):
    """The tutorial's check: in=1, out=1, kernel 5, padding 2, stride 2 on a (2, 1, 2, 2) input."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 1, 2, 2))
    w = rng.standard_normal((1, 1, 5, 5))
    b = rng.standard_normal(1)
    expected = MyTranspose2d(w, b, 5, 2, 2).forward(x)
    y = tconv.conv_transpose(x, w, b, stride=2, padding=2, algorithm=algorithm)
    assert_close(y, expected)
    assert_close(y, torch_conv_transpose(x, w, b, 2, 2, 0, 1, 1))


def test_multichannel_hand_written_transpose():
    rng = np.random.default_rng(4)
    x = rng.standard_normal((1, 3, 3, 2))
    w = rng.standard_normal((3, 2, 4, 4))
    b = rng.standard_normal(2)
    assert_close(tconv.conv_transpose(x, w, b, stride=3, padding=1), MyTranspose2d(w, b, 4, 1, 3).forward(x))


def test_convolution_and_transpose_shapes_are_inverse():
    """conv(3->5, k5, p1) maps 7x9 to 5x7, and the transpose maps 5x7 back to 7x9."""
    x = np.zeros((1, 3, 7, 9))
    y = tconv.conv(x, np.zeros((5, 3, 5, 5)), padding=1)
    assert y.shape == (1, 5, 5, 7)
    assert tconv.conv_transpose(y, np.zeros((5, 3, 5, 5)), padding=1).shape == (1, 3, 7, 9)


def test_upsampling_sizes():
    torch = oracle("torch")
    assert tconv.conv_output_size(5, 3, padding=1) == 5  # 5 = (5 + 2*1 - 3)/1 + 1
    assert tconv.conv_output_size(256, 3, padding=1) == 256
    assert tconv.conv_transpose_output_size(256, 2, stride=2) == 512  # F=2, P=0, S=2
    assert tconv.conv_transpose_output_size(256, 4, stride=2, padding=1) == 512  # F=4, P=1, S=2
    # the same sizes from torch.nn.ConvTranspose2d
    x = torch.randn((1, 1, 256, 256))
    assert torch.nn.ConvTranspose2d(1, 1, 2, padding=0, stride=2)(x).shape[-1] == 512
    assert torch.nn.ConvTranspose2d(1, 1, 4, padding=1, stride=2)(x).shape[-1] == 512


@pytest.mark.parametrize("k", [1, 2, 3])
@pytest.mark.parametrize("t", [1, 2, 3])
@pytest.mark.parametrize("width", [1, 7, 32])
def test_upsampling_family(k, t, width):
    """S = 2k, P = t, F = 2(k + t) up-samples by exactly n = 2k."""
    assert tconv.conv_transpose_output_size(width, 2 * (k + t), stride=2 * k, padding=t) == 2 * k * width


def test_padded_convolution_equals_transpose():
    """5x5 input, padding 2, 3x3 kernel, stride 1 -> 7x7: the transposed conv of 5x5 with k=3."""
    rng = np.random.default_rng(2)
    x = rng.standard_normal((1, 1, 5, 5))
    w = rng.standard_normal((1, 1, 3, 3))
    assert tconv.conv_output_size(5, 3, padding=2) == 7
    direct = torch_conv(x, np.flip(w, (2, 3)).copy(), None, 1, 2, 1, 1)  # padded conv, flipped kernel
    assert_close(tconv.conv_transpose(x, w), direct)


def test_matrix_view():
    """4x4 input, 3x3 kernel: C is 4x16; C.T maps a 2x2 input to 4x4. 3x3 input, 2x2 kernel: C is 4x9."""
    rng = np.random.default_rng(0)
    w = rng.standard_normal((1, 1, 3, 3))
    C = tconv.conv_matrix(w, (4, 4), sparse=False)
    assert C.shape == (4, 16)
    # each row is the kernel laid over the input with zeros elsewhere: 9 non-zeros per row
    assert (np.count_nonzero(C, axis=1) == 9).all()
    x = rng.standard_normal((1, 4, 4))
    assert_close(C @ x.ravel(), tconv.conv(x, w).ravel())
    y = rng.standard_normal((1, 2, 2))
    assert_close((C.T @ y.ravel()).reshape(1, 4, 4), tconv.conv_transpose(y, w))
    # a 2x2 kernel on a 3x3 input: A = [1, 9] times B = [9, 4] gives [1, 4]; the transpose goes back from 4 to 9
    B = tconv.conv_matrix(rng.standard_normal((1, 1, 2, 2)), (3, 3), sparse=False).T
    assert B.shape == (9, 4)
