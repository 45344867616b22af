"""The signature and docstring `G.<op>` shows (inspect.signature, help(), IDEs): the op's
own, read from its `call` classmethod, or from `infer` for ops that keep the inherited
`call` (their inputs are infer's arguments, positional-only), plus the keyword-only
`name=None`."""

from __future__ import annotations

import inspect

from gorgon.op import Op

NAME = inspect.Parameter("name", inspect.Parameter.KEYWORD_ONLY, default=None,
                         annotation="str | None")


def _own_call(op: type[Op]) -> bool:
    return getattr(op.call, "__func__", op.call) is not Op.call.__func__


def op_signature(op: type[Op]) -> inspect.Signature:
    """`G.<op>`'s signature: the arguments of the op's `call` (or of its `infer`, less
    `self`, when `call` is Op's), returning a Node, with `name=None` keyword-only."""
    try:
        if _own_call(op):
            parameters = list(inspect.signature(op.call).parameters.values())
        else:  # Op.call passes its arguments on positionally: they are positional-only
            parameters = [p.replace(kind=p.POSITIONAL_ONLY) if p.kind == p.POSITIONAL_OR_KEYWORD
                          else p for p in list(inspect.signature(op.infer).parameters.values())[1:]]
    except (TypeError, ValueError):  # a callable inspect cannot read: the generic form
        parameters = list(inspect.signature(Op.call).parameters.values())
    if all(p.name != NAME.name for p in parameters):
        at = next((i for i, p in enumerate(parameters) if p.kind == p.VAR_KEYWORD), len(parameters))
        parameters.insert(at, NAME)
    return inspect.Signature(parameters, return_annotation="Node")


def op_doc(op: type[Op]) -> str:
    """The op's docstring, then its `call`'s when it has one of its own, then what
    `name=` does."""
    parts = [inspect.getdoc(op) or f"The op {op.name!r}."]
    if _own_call(op) and op.call.__doc__:
        parts.append(inspect.cleandoc(op.call.__doc__))
    parts.append("`name=` names the node it builds (a named node stays readable after any "
                 "TapeMachine run).")
    return "\n\n".join(parts)
