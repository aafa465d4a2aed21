"""`HostWork`: a fastai callback that counts the host's work per training batch, a developer's measuring tool.

It counts, in each training phase, the aten ops that the main thread dispatches (each one a kernel launch, on a GPU)
and the host's reads of values that live on the device: those computed from the batch, the model's parameters and
buffers, or the optimiser's state. The reads are `item`, `tolist`, `numpy`, `cpu` and Python's conversions (`bool`,
`float`, `int`, `format`). On a CPU a "device" value is one computed from the batch or the model, which would live on
the GPU; fastai's schedules and counters are host values everywhere.

It is not part of the package: `bench/bench.py` and the learner page's tests (`nbs/02_learner.ipynb`) use it, with
this folder on `sys.path`:

    from host_work import HostWork
    learn.fit_one_cycle(1, cbs=(hw := HostWork())); hw.counts   # one dict per training phase

It changes nothing it counts, but while it counts, torch runs under its modes: a fit that stops with an error (not one
of fastai's cancellations) leaves them on, until `hw.after_fit()`.
"""
from fastai.vision.all import Callback, Tensor, torch
from torch.overrides import TorchFunctionMode
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_leaves
from torch.utils.weak import WeakIdKeyDictionary

__all__ = ['HostWork']

# what makes the host wait for a value on the device
_reads = {Tensor.item, Tensor.tolist, Tensor.numpy, Tensor.cpu, Tensor.__array__, Tensor.__bool__,
          Tensor.__float__, Tensor.__int__, Tensor.__index__, Tensor.__format__}


class _Ops(TorchDispatchMode):
    "Count the aten ops dispatched, and mark every tensor computed from a marked one."
    def __init__(self): super().__init__(); self.n,self.dev = 0,WeakIdKeyDictionary()
    def mark(self, o):
        for t in filter(torch.is_tensor, tree_leaves(o)): self.dev[t] = True
    def marked(self, o): return any(isinstance(t, Tensor) and t in self.dev for t in tree_leaves(o))
    def carry(self, src, out): # `out`, marked if `src` holds a marked tensor
        if self.marked(src): self.mark(out)
        return out
    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.n += 1
        return self.carry((args, kwargs), func(*args, **(kwargs or {})))


class _Reads(TorchFunctionMode):
    "Count the reads of tensors that `ops` marked; mark what a tensor subclass computes from them."
    def __init__(self, ops): super().__init__(); self.ops,self.n = ops,0
    def __torch_function__(self, func, types, args=(), kwargs=None):
        if func in _reads and self.ops.marked((args, kwargs)): self.n += 1
        # fastai's `TensorBase` wraps an op's output in a new object
        return self.ops.carry((args, kwargs), func(*args, **(kwargs or {})))


class HostWork(Callback):
    "Count the main thread's aten ops and reads of device values, per batch of each training phase."
    order = 1000  # last, so that the counts include the other callbacks' work
    def before_fit(self): self.counts,self.on = [],False
    def before_train(self):
        self.n, self.ops, self._as_subclass = 0, _Ops(), Tensor.as_subclass
        opt = getattr(self.opt, 'opt', self.opt)   # torch's, behind `OptimWrapper`, or fastai's own
        self.ops.mark([*self.model.parameters(), *self.model.buffers(), *opt.state.values()])
        # unseen by torch's modes: fastai's `TensorBase` wraps values with it
        Tensor.as_subclass = lambda t, cls: self.ops.carry(t, self._as_subclass(t, cls))
        self.on, self.reads = True, _Reads(self.ops)
        self.ops.__enter__(); self.reads.__enter__()
    def before_batch(self): self.n += 1; self.ops.mark((self.xb, self.yb))
    def after_train(self):
        if not self.on: return
        self.reads.__exit__(None, None, None); self.ops.__exit__(None, None, None)
        Tensor.as_subclass, self.on = self._as_subclass, False
        n = max(self.n, 1)
        self.counts.append(dict(epoch=self.epoch, batches=self.n,
                                aten_ops=self.ops.n/n, host_reads=self.reads.n/n))
    def after_fit(self): self.after_train()  # a fit cancelled in a training phase
