"""The stabilising rewrite this plugin gives the TapeMachine's compiler (pass `rewrite`):

    log(softmax(x, axis)) -> log_softmax(x, axis)
"""


def log_of_softmax(term, ctx):
    if ctx.is_op(term, "log") and ctx.is_op(term.inputs[0], "softmax"):
        softmax = term.inputs[0]
        return ctx.make("log_softmax", softmax.inputs[0], axis=softmax.op.axis)
    return None


RULES = {"log_softmax": log_of_softmax}
