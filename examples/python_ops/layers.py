"""The layers of layers_fixed.py with one mistake in them, as it happens in a backprop course:
`bpdebug check net.bp --ops layers.py` names the node and the input whose gradient is wrong.

The mistake is marked MISTAKE; layers_fixed.py is the fixed version.
"""
import numpy as np

from bpdebug import op


# An affine layer, written as a forward and its vector-Jacobian product (like torch.autograd.Function
# or jax.custom_vjp). `local=` gives the text the debugger shows for each input's local derivative.
@op(local=("dout @ w.T", "x.T @ dout", "sum(dout, axis=0)"))
def affine(x, w, b):
    return x @ w + b


@affine.vjp
def affine_vjp(dout, out, x, w, b):
    return dout @ w.T, x.T @ dout, dout.sum(axis=0)


# Batch normalization (training mode: the batch's own mean and variance), written the way course
# assignments write layers: forward(...) -> (out, cache) and backward(dout, cache) -> gradients.
def batchnorm_forward(x, gamma, beta, eps=1e-5):
    mu = x.mean(axis=0)
    var = x.var(axis=0)
    xhat = (x - mu) / np.sqrt(var + eps)
    return gamma * xhat + beta, (xhat, gamma, var + eps)


def batchnorm_backward(dout, cache):
    xhat, gamma, v = cache
    n = dout.shape[0]
    dxhat = dout * gamma
    dx = (n * dxhat - dxhat.sum(axis=0) - xhat * (dxhat * xhat).sum(axis=0)) / (n * np.sqrt(v))
    return dx, (dout * xhat).sum(axis=0), dout.sum(axis=0)


batchnorm = op.from_cache(batchnorm_forward, batchnorm_backward)


# The softmax loss over a batch of scores, with the labels as class indices (numbers 0..C-1).
@op
def softmax_loss(scores, labels):
    shifted = scores - scores.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    rows = np.arange(len(scores))
    return -log_p[rows, labels.astype(int)].mean()


@softmax_loss.vjp
def softmax_loss_vjp(dout, out, scores, labels):
    p = np.exp(scores - scores.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    rows = np.arange(len(scores))
    p[rows, labels.astype(int)] -= 1
    return dout * p, None     # MISTAKE: the forward averages over the rows; this forgets "/ len(scores)"
