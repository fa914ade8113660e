"""``prefetch(a, i)``: ask the CPU to bring ``a[i]``'s cache line in, without waiting for it.

The event step visits people at scattered places: each visit reads a few words of a dozen
arrays, and at a million people and more most of those reads miss the core's caches. The
kernels used to load the next ``TOUCH`` visits' words ahead of them (a sum that nothing reads),
so that the misses overlap; but a load that misses holds its place in the core's reorder buffer
until its line arrives, and a few dozen such loads fill it. A prefetch (LLVM's
``llvm.prefetch``, an x86 ``prefetcht0``) retires at once: the loop issues all of its lines and
goes on to the visits, which find them in the cache. It changes nothing but timing: compiled, a
prefetch is a hint, never a fault, whatever the address (the kernels ask only for places they are
about to read, and the expressions of their indexes are evaluated, as Python too, where they are
in bounds).

Measured on the development machine (2 cores, AMD EPYC, 32 MiB L3), 2e6 visits at random places
of three arrays of 1e7 people, each visit reading its three words and writing one: 18.1 ns a
visit with no help, 19.4 ns with the loads ahead, 9.2 ns with prefetches ahead. (With so little
work a visit the core overlaps the plain visits' misses by itself; a kernel's visit is long, and
there the loads ahead had helped.)

Under ``NUMBA_DISABLE_JIT=1`` (the kernels run as Python, for the tests that check them against
their compiled selves) ``prefetch`` is a function that does nothing.
"""

from __future__ import annotations

from typing import Any

import numba as nb
from llvmlite import ir
from numba.core import cgutils, types
from numba.extending import intrinsic

if nb.config.DISABLE_JIT:

    def prefetch(a: Any, i: Any) -> None:
        """(the kernels run as Python: nothing to fetch)"""

else:

    @intrinsic
    def prefetch(typingctx: Any, a: Any, i: Any) -> Any:
        """A read prefetch of ``a[i]`` (``a``: a 1-d array, ``i``: an integer) into every level
        of the cache."""
        if not (isinstance(a, types.Array) and a.ndim == 1 and isinstance(i, types.Integer)):
            return None

        def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
            aryty = signature.args[0]
            ary = context.make_array(aryty)(context, builder, args[0])
            idx = context.cast(builder, args[1], signature.args[1], types.intp)
            ptr = cgutils.get_item_pointer(context, builder, aryty, ary, [idx], wraparound=False)
            i8p = ir.IntType(8).as_pointer()
            i32 = ir.IntType(32)
            fnty = ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32])
            fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.prefetch.p0")
            # (address, 0: a read, 3: keep in every level, 1: data)
            builder.call(fn, [builder.bitcast(ptr, i8p), ir.Constant(i32, 0), ir.Constant(i32, 3), ir.Constant(i32, 1)])
            return context.get_dummy_value()

        return types.void(a, i), codegen
