"""The maps' batch kernel: N configurations of one racer on a landscape, T steps each,
reduced to the race's metrics on the fly (no trajectories).

Every pixel is, bit for bit, what :func:`engine.kernel.race_chunk` gives for that
configuration and what :func:`engine.maps.compute.reduce_race` makes of its rows: the
same landscape kernels (``fg`` of each landscape module), the same update arithmetic as
:func:`engine.optimizers.opt_update`'s branches (the helpers of
engine.optimizers._common, operation for operation), the same bias tables
(:func:`engine.optimizers.bias_table`), the same schedule (:func:`schedule_lr`); no
fast-math. tests/test_maps_kernel.py compares pixels with races.

Layout: the pixels run in blocks of ``B`` (structure of arrays: one row of a block's
workspace per quantity, ``B`` contiguous float64). Per block, the step loop is outside
and each step is a few passes over the block, each a simple loop that LLVM vectorises:

1. the landscape pass (:func:`land_pass`, generated: one loop per landscape, the
   landscape dispatch hoisted out of them) writes f, ∂f/∂x, ∂f/∂y of every pixel;
2. the scan pass (:func:`scan_known` / :func:`scan_unknown`: f* known or not) takes the
   row in: a non-finite loss or gradient stops the pixel there (as the race kernel
   does), else within tolerance, the first row within, the last outside, the best
   loss, the divergence rule; pixels that stopped keep computing (their figures frozen),
   so no pass has per-pixel control flow;
3. the update pass of the optimizer's family, per-pixel hyperparameters (lr and any swept
   one are columns), into the other half of a double buffer of points: a pixel that
   stops at row t still has x_{t-1} there, copied out by a rare fix-up pass. sgd has
   leaner passes for a block where they give the same bits: plain GD (μ = λ = 0 for
   every pixel) and, after the first update, heavy ball without weight decay. Each
   family's arithmetic on one coordinate is written once (``updates.*_coord``,
   ``jit_inline``: free), for both coordinates and all the family's passes.

The passes are ``jit_hot`` (compiled once, inlined by LLVM into :func:`map_chunk`): a
call per pass and step cost ~0.3 ns per pixel-step at 256 pixels a block (a third
of a GD step), inlined they cost nothing; LLVM still vectorises each loop (AVX-512 on
the host here). Dispatch (family, landscape, f* known, schedule) is by integer, once
per pass, outside the pixel loops.

:func:`map_chunk` runs a range of blocks; it releases the GIL, so a few Python threads
run disjoint ranges on the cores at once (engine.maps.fast), and a map runs chunk by
chunk (cancellable, with progress, see engine.maps.compute). Not a ``parallel=True``
(``prange``) kernel: the engine's rules keep numba's threading layers out
(tests/test_engine_rules.py: the workqueue layer aborts when two threads launch
parallel kernels at once, OpenMP is not fork-safe for Dask's worker processes), and a
``prange`` driver cost ~6 s more of cold compile here for the same speed.

Modules: :mod:`.passes` (the landscape, scan and per-step input passes),
:mod:`.updates` (the optimizers' update passes), :mod:`.block`
(:func:`~engine.maps.batch.block.map_chunk`: the blocks' step loops; the layout
constants). A package of its own: engine.jit keys the numba cache folder on every file
of a package holding kernels, this one, not the rest of engine.maps (no kernels, edited
often).
"""
