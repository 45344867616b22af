"""The hooks a gorgon plugin implements. One module, every hook documented here.

A plugin is a module named by an entry point in the group ``gorgon``::

    [project.entry-points.gorgon]
    myops = "my_package.plugin"

whose functions marked with ``@gorgon.hookimpl`` are called once when gorgon first
needs its ops. Each hook receives a ``register`` callback and calls it once per thing
it provides.
"""

import pluggy

PROJECT = "gorgon"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def register_ops(register):
    """Register ops: call ``register(OpClass)`` once per subclass of ``gorgon.Op``.

    The class's ``name`` becomes ``G.<name>`` and ``G.ops.<name>``; its ``call``
    classmethod is what those names call. A name another plugin already registered is
    an error naming both plugins.
    """


@hookspec
def register_samples(register):
    """Register conformance samples: call ``register(op_name, factory)`` once per op.

    ``factory()`` returns a list of ``gorgon.testing.Sample`` and
    ``gorgon.testing.ErrorSample``; the kit (``gorgon.testing``) checks the op on them.
    Every registered op must have samples: the test suite fails for one without.
    """


@hookspec
def register_solvers(register):
    """Register solvers: call ``register(SolverClass)`` once per solver class.

    The class's ``name`` (``"Adam"``, say) becomes ``G.solvers.<name>``. A solver is built
    with the parameter nodes it updates, or without them and bound later
    (``solver.bind(params)``), and steps them after a run.
    """


@hookspec
def register_initializers(register):
    """Register initialisers: call ``register(name, factory)`` once per initialiser.

    ``factory(**hyper_parameters)`` returns a function ``(shape, dtype) -> ndarray``;
    ``G.init.<name>`` is the factory, and ``init="<name>"`` on an input node uses it
    with its defaults.
    """


@hookspec
def register_rewrites(register):
    """Register rewrites: call ``register(name, rule)`` once per rule.

    ``rule(term, ctx)`` looks at one op term (``term.op``, ``term.inputs``, ``term.shape``,
    ``term.dtype``) and returns an equivalent term built with
    ``ctx.make(op_name, *inputs, **params)`` / ``ctx.constant(value, dtype)``, an
    existing term, or None when it does not apply. Rules run when a node is built (the
    term is the node about to be built, its inputs nodes, and ``ctx.make`` builds nodes):
    a rule that builds a new form there replaces the node, so ``G.grad`` and both
    machines see the stable form; and again in the TapeMachine's ``rewrite`` pass over
    the compiled terms, which also takes rules returning an existing term (-(-x) -> x).
    Rules must keep the value.
    """


@hookspec
def register_onnx(register):
    """Register ONNX export mappings: call ``register(op_name, emit)`` once per op.

    ``emit(builder, node, inputs)`` writes the ONNX nodes that compute ``node`` (a node of
    the op ``op_name``: its parameters are ``node.op.params``, its inputs' shapes and
    dtypes ``node.inputs[i].shape`` / ``.dtype``) and returns the ONNX name of the result.
    ``inputs`` holds the ONNX names of ``node.inputs``. The builder comes from gorgon_onnx:
    ``builder.add(op_type, inputs, **attributes)`` adds an ONNX node and returns its output
    name, ``builder.constant(array)`` adds a constant, ``builder.opset`` is the target
    opset, ``builder.unsupported(reason)`` refuses parameters ONNX cannot express. Emitters
    never import onnx, so a plugin keeps its own dependencies. Exporting a graph with an
    op that has no mapping fails, naming every such op at once.
    """


@hookspec
def register_kernels(register):
    """Register kernels of a backend for ops (any plugin's): call
    ``register(op_name, backend, make_kernel)`` once per op and backend name.

    ``make_kernel(op, inputs, output)`` gets the op (its parameters as attributes) and
    the ``TensorType`` of each input and of the output, and returns a kernel, or None to
    decline those types (the op then runs on the next preferred backend, numpy last).
    A kernel is called ``kernel(*arrays, out)`` and writes every element of ``out``; it
    may have a ``bind(*arrays, out)`` method returning a zero-argument callable that does
    the same on those arrays (the TapeMachine binds once per binding), or None to decline
    them. Kernels are made once per op, types and backend, so ``make_kernel`` may compile.
    ``op_name="fused"`` registers the backend's generator of fused elementwise kernels
    (``gorgon.passes.fuse.FusedOp``); its ``make_kernel`` may have ``fuses(op, inputs,
    output)`` saying which ops it can fuse. A kernel may have a ``tolerance`` dict,
    ``{"float32": (rtol, atol), "float64": (rtol, atol)}``: how far the conformance kit
    lets it differ from the numpy kernel (default: ``gorgon.testing.BACKEND_TOLERANCE``).
    A make_kernel that raises, or a kernel that raises where numpy does not, is reported
    once (a ``gorgon.backends.BackendWarning``) and numpy used instead. Registering one
    (op, backend) twice is refused, naming both plugins.
    """
