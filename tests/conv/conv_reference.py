"""Plain-loop references for the conv plugin's ops: one Python loop per output (or input)
element, written from the definitions, independent of the plugin's code. Each returns
the forward value and the gradients of sum(output * gy) with respect to its inputs.

Padding is given as ((top, bottom), (left, right)); sizes as (height, width) pairs."""

import numpy as np


def pair(value):
    return (value, value) if isinstance(value, int) else tuple(value)


def padding(value, kernel=(1, 1), dilation=(1, 1)):
    """Any padding argument as ((top, bottom), (left, right)); "same" puts the odd pixel
    at the bottom/right."""
    if value == "valid":
        value = 0
    if value == "same":
        totals = [d * (k - 1) for k, d in zip(kernel, dilation)]
        return tuple((t // 2, t - t // 2) for t in totals)
    if isinstance(value, int):
        return (value, value), (value, value)
    if isinstance(value[0], int):
        return (value[0], value[0]), (value[1], value[1])
    return tuple(tuple(side) for side in value)


def conv_geometry(keywords, kernel):
    """(stride, pads, dilation, groups) of conv2d keywords, with conv2d's defaults."""
    dilation = pair(keywords.get("dilation", 1))
    return (pair(keywords.get("stride", 1)), padding(keywords.get("padding", 0), kernel, dilation),
            dilation, keywords.get("groups", 1))


def window_geometry(keywords, default_stride=None):
    """(kernel, stride, pads, dilation) of im2col or pooling keywords; the stride defaults
    to `default_stride`, or to the kernel size."""
    kernel = pair(keywords["kernel_size"])
    stride = keywords.get("stride", default_stride)
    return (kernel, kernel if stride is None else pair(stride), padding(keywords.get("padding", 0)),
            pair(keywords.get("dilation", 1)))


def pad(x, pads, fill=0.0):
    (top, bottom), (left, right) = pads
    return np.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)), constant_values=fill)


def crop(xp, pads, size):
    (top, _), (left, _) = pads
    return xp[:, :, top:top + size[0], left:left + size[1]]


def grid(size, kernel, stride, pads, dilation):
    return tuple((n + sum(p) - d * (k - 1) - 1) // s + 1
                 for n, k, s, p, d in zip(size, kernel, stride, pads, dilation))


def window(oh, ow, kernel, stride, dilation):
    """The padded-input slices one output pixel reads."""
    rows = slice(oh * stride[0], oh * stride[0] + dilation[0] * (kernel[0] - 1) + 1, dilation[0])
    cols = slice(ow * stride[1], ow * stride[1] + dilation[1] * (kernel[1] - 1) + 1, dilation[1])
    return rows, cols


def conv2d(x, w, gy, stride, pads, dilation, groups):
    n_batch, channels = x.shape[:2]
    filters, per_group = w.shape[:2]
    kernel = w.shape[2:]
    oh_count, ow_count = grid(x.shape[2:], kernel, stride, pads, dilation)
    xp = pad(x, pads)
    y = np.zeros((n_batch, filters, oh_count, ow_count), x.dtype)
    gxp, gw = np.zeros_like(xp), np.zeros_like(w)
    for n in range(n_batch):
        for f in range(filters):
            group = f // (filters // groups)
            chans = slice(group * per_group, (group + 1) * per_group)
            for oh in range(oh_count):
                for ow in range(ow_count):
                    rows, cols = window(oh, ow, kernel, stride, dilation)
                    patch = xp[n, chans, rows, cols]
                    y[n, f, oh, ow] = np.sum(patch * w[f])
                    gw[f] += gy[n, f, oh, ow] * patch
                    gxp[n, chans, rows, cols] += gy[n, f, oh, ow] * w[f]
    return y, crop(gxp, pads, x.shape[2:]), gw


def conv_transpose2d(x, w, gy, stride, pads, output_padding, dilation, groups):
    n_batch, channels, height, width = x.shape
    per_group_out, (kh, kw) = w.shape[1], w.shape[2:]
    per_group_in = channels // groups
    size = tuple((n - 1) * s - sum(p) + d * (k - 1) + 1 + e for n, s, p, d, k, e in
                 zip((height, width), stride, pads, dilation, (kh, kw), output_padding))
    y = np.zeros((n_batch, per_group_out * groups) + size, x.dtype)
    gx, gw = np.zeros_like(x), np.zeros_like(w)
    (top, _), (left, _) = pads
    for n in range(n_batch):
        for c in range(channels):
            group = c // per_group_in
            outs = slice(group * per_group_out, (group + 1) * per_group_out)
            for h in range(height):
                for v in range(width):
                    for i in range(kh):
                        for j in range(kw):
                            oy = h * stride[0] + i * dilation[0] - top
                            ox = v * stride[1] + j * dilation[1] - left
                            if 0 <= oy < size[0] and 0 <= ox < size[1]:
                                y[n, outs, oy, ox] += x[n, c, h, v] * w[c, :, i, j]
                                gx[n, c, h, v] += np.sum(gy[n, outs, oy, ox] * w[c, :, i, j])
                                gw[c, :, i, j] += x[n, c, h, v] * gy[n, outs, oy, ox]
    return y, gx, gw


def im2col(x, kernel, stride, pads, dilation):
    """Columns (N, C*kh*kw, OH*OW): row (c*kh + i)*kw + j, column oh*OW + ow."""
    n_batch, channels = x.shape[:2]
    oh_count, ow_count = grid(x.shape[2:], kernel, stride, pads, dilation)
    xp = pad(x, pads)
    cols = np.zeros((n_batch, channels * kernel[0] * kernel[1], oh_count * ow_count), x.dtype)
    for n in range(n_batch):
        for c in range(channels):
            for i in range(kernel[0]):
                for j in range(kernel[1]):
                    for oh in range(oh_count):
                        for ow in range(ow_count):
                            h, v = oh * stride[0] + i * dilation[0], ow * stride[1] + j * dilation[1]
                            cols[n, (c * kernel[0] + i) * kernel[1] + j, oh * ow_count + ow] = xp[n, c, h, v]
    return cols


def col2im(cols, size, kernel, stride, pads, dilation):
    """Sums each column entry back where im2col took it from."""
    n_batch = cols.shape[0]
    channels = cols.shape[1] // (kernel[0] * kernel[1])
    oh_count, ow_count = grid(size, kernel, stride, pads, dilation)
    xp = pad(np.zeros((n_batch, channels) + tuple(size), cols.dtype), pads)
    for n in range(n_batch):
        for c in range(channels):
            for i in range(kernel[0]):
                for j in range(kernel[1]):
                    for oh in range(oh_count):
                        for ow in range(ow_count):
                            h, v = oh * stride[0] + i * dilation[0], ow * stride[1] + j * dilation[1]
                            xp[n, c, h, v] += cols[n, (c * kernel[0] + i) * kernel[1] + j, oh * ow_count + ow]
    return crop(xp, pads, size)


def pool_windows(x, kernel, stride, pads, dilation):
    """For each (n, c, oh, ow): the input positions (h, w) its window covers, padding left out."""
    height, width = x.shape[2:]
    (top, _), (left, _) = pads
    oh_count, ow_count = grid((height, width), kernel, stride, pads, dilation)
    for oh in range(oh_count):
        for ow in range(ow_count):
            rows = [oh * stride[0] + i * dilation[0] - top for i in range(kernel[0])]
            cols = [ow * stride[1] + j * dilation[1] - left for j in range(kernel[1])]
            positions = [(h, v) for h in rows for v in cols]
            inside = [(h, v) for h, v in positions if 0 <= h < height and 0 <= v < width]
            yield oh, ow, inside


def max_pool2d(x, gy, kernel, stride, pads, dilation):
    """Ties go to the first largest element in row-major window order."""
    n_batch, channels = x.shape[:2]
    y = np.zeros(gy.shape, x.dtype)
    gx = np.zeros_like(x)
    for oh, ow, inside in pool_windows(x, kernel, stride, pads, dilation):
        for n in range(n_batch):
            for c in range(channels):
                values = [x[n, c, h, v] for h, v in inside]
                best = int(np.argmax(values))
                y[n, c, oh, ow] = values[best]
                gx[n, c][inside[best]] += gy[n, c, oh, ow]
    return y, gx


def avg_pool2d(x, gy, kernel, stride, pads, dilation, count_include_pad):
    n_batch, channels = x.shape[:2]
    y = np.zeros(gy.shape, x.dtype)
    gx = np.zeros_like(x)
    for oh, ow, inside in pool_windows(x, kernel, stride, pads, dilation):
        divisor = kernel[0] * kernel[1] if count_include_pad else len(inside)
        for n in range(n_batch):
            for c in range(channels):
                y[n, c, oh, ow] = sum(x[n, c, h, v] for h, v in inside) / divisor
                for h, v in inside:
                    gx[n, c, h, v] += gy[n, c, oh, ow] / divisor
    return y, gx


def global_avg_pool2d(x, gy):
    n_batch, channels, height, width = x.shape
    y = np.zeros((n_batch, channels, 1, 1), x.dtype)
    gx = np.zeros_like(x)
    for n in range(n_batch):
        for c in range(channels):
            y[n, c, 0, 0] = np.sum(x[n, c]) / (height * width)
            gx[n, c] = gy[n, c, 0, 0] / (height * width)
    return y, gx


def upsample2d(x, gy, scale):
    n_batch, channels, height, width = x.shape
    y = np.zeros((n_batch, channels, height * scale[0], width * scale[1]), x.dtype)
    gx = np.zeros_like(x)
    for h in range(height * scale[0]):
        for v in range(width * scale[1]):
            y[:, :, h, v] = x[:, :, h // scale[0], v // scale[1]]
            gx[:, :, h // scale[0], v // scale[1]] += gy[:, :, h, v]
    return y, gx
