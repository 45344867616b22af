"""Contractions: `einsum` (numpy's subscripts: repeated indices and traces, implicit and
explicit output, ellipsis) and `tensordot`. The gradient of either is einsums: the
output gradient contracted with the other operands, broadcast over the indices only
the operand had, and put back on the diagonal where the operand repeats an index.

Subscripts are normalised when the node is built: explicit output, every ellipsis
spelled out in letters, so the op's parameters say exactly what it computes.
"""

import string

import numpy as np

import gorgon as G
from gorgon import ArgumentTypeError, ArgumentValueError, Op, TensorType
from gorgon.infer import same_dtype, shape_error

LETTERS = string.ascii_letters


def _split(op_name, subscripts, count):
    if not isinstance(subscripts, str):
        raise ArgumentTypeError(f"{op_name}: subscripts must be a string, got {type(subscripts).__name__}")
    text = subscripts.replace(" ", "")
    inputs, arrow, output = text.partition("->")
    terms = inputs.split(",")
    if len(terms) != count:
        raise ArgumentValueError(f"{op_name}: subscripts {subscripts!r} name {len(terms)} operands, "
                                 f"got {count}")
    for term in terms + ([output] if arrow else []):
        letters = term.replace("...", "")
        if "." in letters or any(c not in LETTERS for c in letters):
            raise ArgumentValueError(f"{op_name}: invalid subscripts {subscripts!r}")
    return terms, (output if arrow else None)


def normalize(op_name, subscripts, shapes):
    """Subscripts with an explicit output and no ellipsis, checked against the shapes."""
    terms, output = _split(op_name, subscripts, len(shapes))
    used = set("".join(terms) + (output or ""))
    spare = [c for c in LETTERS if c not in used]
    ellipsis_ndim = 0
    for term, shape in zip(terms, shapes):
        named = len(term.replace("...", ""))
        if "..." in term:
            ellipsis_ndim = max(ellipsis_ndim, len(shape) - named)
        if len(shape) < named or ("..." not in term and len(shape) != named):
            raise ArgumentValueError(f"{op_name}: operand {term!r} has {len(shape)} dimensions, "
                                     f"shape {shape}")
    ellipsis = "".join(spare[:ellipsis_ndim])
    explicit = []
    for term, shape in zip(terms, shapes):
        own = len(shape) - len(term.replace("...", ""))
        explicit.append(term.replace("...", ellipsis[ellipsis_ndim - own:]))
    if output is None:
        counts = {c: "".join(explicit).count(c) for c in set("".join(explicit))}
        output = ellipsis + "".join(sorted(c for c, n in counts.items() if n == 1 and c not in ellipsis))
    else:
        if ellipsis and "..." not in output:
            raise ArgumentValueError(f"{op_name}: the operands' '...' spans {len(ellipsis)} dimensions, "
                                     f"but the output {output!r} has no '...' to put them in")
        output = output.replace("...", ellipsis)
        missing = [c for c in output if c not in "".join(explicit)]
        if missing or len(set(output)) != len(output):
            raise ArgumentValueError(f"{op_name}: output subscripts {output!r} repeat a letter or "
                                     f"name one no operand has")
    return ",".join(explicit) + "->" + output


def letter_sizes(op, subscripts, *nodes):
    """Each letter's size, broadcasting size-1 axes (against any size, 0 included: an
    empty batch stays empty); a mismatch fails naming the nodes."""
    terms = subscripts.split("->")[0].split(",")
    sizes = {}
    for term, node in zip(terms, nodes):
        for letter, size in zip(term, node.shape):
            known = sizes.get(letter, 1)
            if size != known and 1 not in (size, known):
                raise shape_error(op, f"index {letter!r} has sizes {known} and {size}", *nodes)
            sizes[letter] = size if known == 1 else known
    return sizes


def contraction_grads(subscripts, inputs, gy):
    """The gradients of `einsum(subscripts, *inputs)` given the output gradient `gy`, one
    lazily built einsum per operand: gy contracted with the other operands, times ones
    over the indices only this operand has, times an identity for each repeated index."""
    terms, output = subscripts.split("->")
    terms = terms.split(",")
    sizes = letter_sizes(None, subscripts, *inputs)
    unused = [c for c in LETTERS if c not in set(subscripts)]

    def grad(k):
        term = terms[k]
        others = [(t, n) for i, (t, n) in enumerate(zip(terms, inputs)) if i != k]
        specs, operands = [output] + [t for t, _ in others], [gy] + [n for _, n in others]
        available = set("".join(specs))
        lost = "".join(c for c in dict.fromkeys(term) if c not in available)
        if lost:
            specs.append(lost)
            operands.append(np.ones([sizes[c] for c in lost], gy.dtype))
        target, seen, fresh = [], set(), iter(unused)
        for letter in term:
            if letter in seen:
                target.append(next(fresh))
                specs.append(letter + target[-1])
                operands.append(np.eye(sizes[letter], dtype=gy.dtype))
            else:
                seen.add(letter)
                target.append(letter)
        return G.einsum(f"{','.join(specs)}->{''.join(target)}", *operands)

    return [lambda k=k: grad(k) for k in range(len(inputs))]


def ndim_of(x):
    return x.ndim if isinstance(x, G.Node) else np.ndim(x)


class Einsum(Op):
    """`einsum(subscripts, *operands)`: numpy's Einstein summation (implicit or explicit
    output, repeated indices, `...`); operands share one float or integer dtype."""

    name = "einsum"

    @classmethod
    def call(cls, subscripts, *operands):
        nodes = [o for o in operands if isinstance(o, G.Node)]
        if not nodes:
            raise ArgumentTypeError(f"{cls.name}: needs at least one node among its operands")
        shapes = [o.shape if isinstance(o, G.Node) else np.shape(o) for o in operands]
        return G.apply(cls(subscripts=normalize(cls.name, subscripts, shapes)), *operands)

    def infer(self, *operands):
        dtype = same_dtype(self, *operands)
        sizes = letter_sizes(self, self.subscripts, *operands)
        return TensorType(tuple(sizes[c] for c in self.subscripts.split("->")[1]), dtype)

    def forward(self, *operands, out=None):
        result = np.einsum(self.subscripts, *operands, out=out, optimize=len(operands) > 2)
        return np.asarray(result) if out is None else out

    def vjp(self, inputs, output, gy):
        return contraction_grads(self.subscripts, inputs, gy)


def tensordot_subscripts(op_name, a_ndim, b_ndim, axes):
    """The einsum subscripts of numpy's tensordot(a, b, axes)."""
    if isinstance(axes, (int, np.integer)):
        if not 0 <= axes <= min(a_ndim, b_ndim):
            raise ArgumentValueError(f"{op_name}: axes={axes} is out of range for {a_ndim}- and "
                                     f"{b_ndim}-dimensional operands")
        a_axes, b_axes = list(range(a_ndim - axes, a_ndim)), list(range(axes))
    else:
        try:
            a_axes, b_axes = ([int(i)] if np.ndim(i) == 0 else [int(j) for j in i] for i in axes)
        except (TypeError, ValueError):
            raise ArgumentTypeError(f"{op_name}: axes must be an int or a pair of axis lists, got "
                                    f"{axes!r}") from None
        if len(a_axes) != len(b_axes):
            raise ArgumentValueError(f"{op_name}: axes {axes!r} pair {len(a_axes)} with {len(b_axes)} axes")
        for axis, ndim in [(a, a_ndim) for a in a_axes] + [(b, b_ndim) for b in b_axes]:
            if not -ndim <= axis < ndim:
                raise ArgumentValueError(f"{op_name}: axis {axis} is out of range for {ndim} dimensions")
        a_axes, b_axes = [a % a_ndim for a in a_axes], [b % b_ndim for b in b_axes]
    a = list(LETTERS[:a_ndim])
    b = list(LETTERS[a_ndim:a_ndim + b_ndim])
    for i, j in zip(a_axes, b_axes):
        b[j] = a[i]
    out = [c for i, c in enumerate(a) if i not in a_axes] + [c for j, c in enumerate(b) if j not in b_axes]
    return tuple(a_axes), tuple(b_axes), f"{''.join(a)},{''.join(b)}->{''.join(out)}"


class Tensordot(Op):
    """`tensordot(a, b, axes=2)`: numpy's tensordot (BLAS through numpy); `axes` an int
    (the last of a with the first of b) or a pair of axis lists."""

    name = "tensordot"

    @classmethod
    def call(cls, a, b, axes=2):
        a_axes, b_axes, _ = tensordot_subscripts(cls.name, ndim_of(a), ndim_of(b), axes)
        return G.apply(cls(axes=(a_axes, b_axes)), a, b)

    def subscripts(self, a, b):
        return tensordot_subscripts(self.name, a.ndim, b.ndim, self.axes)[2]

    def infer(self, a, b):
        dtype = same_dtype(self, a, b)
        for i, j in zip(*self.axes):
            if a.shape[i] != b.shape[j]:
                raise shape_error(self, f"axis {i} of a has size {a.shape[i]}, axis {j} of b {b.shape[j]}",
                                  a, b)
        sizes = letter_sizes(self, self.subscripts(a, b), a, b)
        return TensorType(tuple(sizes[c] for c in self.subscripts(a, b).split("->")[1]), dtype)

    def forward(self, a, b, out=None):
        result = np.tensordot(a, b, self.axes)
        if out is None:
            return np.asarray(result)
        np.copyto(out, result)
        return out

    def vjp(self, inputs, output, gy):
        return contraction_grads(self.subscripts(*inputs), inputs, gy)


OPS = [Einsum, Tensordot]
