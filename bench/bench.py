"""Where a run's time goes on the host, counted on any machine, and the training throughput on a GPU (issues: fast path, host-side speed).

Always (CPU or GPU), the host table, from exact counts where a CPU can give them:
1. worker processes forked by one `train_run` (a real subset, 2 workers, 2 epochs, the report included), counted with
   `os.register_at_fork`; the decoded-image cache is warmed first, since decoding forks a pool of its own;
2. per training batch of that run's last epoch (`HostWork`): aten ops dispatched by the main thread, and reads of values
   computed on the device (on a CPU: from the batch, the model or the optimiser state), averaged over the epoch;
3. the main thread's time in `RunCheckpoint.after_epoch`, per epoch of that run (the write itself is in a thread);
4. a warm `cifar10_dls` on the full data from the archive (the cache and extraction exist): best of 3 calls;
5. the validation loader, one pass over the test set without workers and with 2 kept workers (its second pass);
6. the import of each console script's module, in a fresh interpreter: best of 3.

On a GPU, also the training throughput:
7. floor: `CustomResNet` forward + backward + step on one batch already on the device, with the training's own settings:
   `adamw` (fused) on `norm_bias_split`, bf16 autocast + channels_last, `cudnn.benchmark`;
8. resnet_fastai: one `fit` epoch, without validation, of `custom_resnet_learner(cifar10_dls(...))` as `train_run` sets it
   up, after a warm-up epoch; and the ratio floor / ours.

Prints the tables and writes them as JSON:
    python bench/bench.py --data ../shared/cifar10.tgz --out bench.json
`--max-batches N` caps the GPU measurements at N batches (a quick check).
"""
import json, os, platform, subprocess, sys, tempfile, time
from contextlib import redirect_stdout
from io import StringIO
from pathlib import Path
import torch, torch.nn.functional as F
from fastcore.script import call_parse
from fastai.vision.all import set_seed, default_device, num_cpus, Callback, CancelValidException
from resnet_fastai.model import CustomResNet
from resnet_fastai.data import cifar10_dls
from resnet_fastai.learner import custom_resnet_learner, adamw, norm_bias_split
from host_work import HostWork   # bench/host_work.py: this script's folder is on sys.path
from resnet_fastai.train import train_run, RunCheckpoint

def _sync(dev):
    if dev.type == 'cuda': torch.cuda.synchronize(dev)

def _best(f, n=3): return min(f() for _ in range(n))

def _timed(f):
    "Seconds `f()` takes."
    t = time.perf_counter(); f(); return time.perf_counter() - t

def one_run(data, subset=2000, bs=50, epochs=2, num_it=10, num_workers=2):
    "Forks, `HostWork` counts of the last epoch and the checkpoint's main-thread seconds of one `train_run`."
    cifar10_dls(data, subset=subset, bs=bs, num_workers=0)   # the cache, warm: decoding forks a pool of its own
    forks, saves, after_epoch = [0], [], RunCheckpoint.after_epoch
    os.register_at_fork(after_in_parent=lambda: forks.__setitem__(0, forks[0] + 1))
    def timed_after_epoch(self): saves.append(_timed(lambda: after_epoch(self)))
    RunCheckpoint.after_epoch, hw, n0 = timed_after_epoch, HostWork(), forks[0]
    try:
        with redirect_stdout(StringIO()):
            m = train_run(data=data, out=Path(tempfile.mkdtemp())/'run', subset=subset, bs=bs, epochs=epochs, num_it=num_it,
                          num_workers=num_workers, cbs=hw, progress=False)
    finally: RunCheckpoint.after_epoch = after_epoch
    last = hw.counts[-1]
    return dict(run=dict(subset=subset, bs=bs, epochs=epochs, num_it=num_it, num_workers=num_workers, report=True,
                         test_accuracy=m['test_accuracy']),
                forks=forks[0] - n0, batches=last['batches'], aten_ops_per_batch=last['aten_ops'],
                host_reads_per_batch=last['host_reads'], checkpoint_main_seconds=saves)

def valid_pass(data, num_workers):
    "Seconds of the second pass over the test set's batches with `num_workers` kept workers (0: the main process)."
    dl = cifar10_dls(data, device=torch.device('cpu')).valid.new(num_workers=num_workers)
    for _ in dl: pass
    return _best(lambda: _timed(lambda: [None for _ in dl]))

_scripts = {'resnet-fastai-train, -report, -ablate': 'resnet_fastai.train',
            'resnet-fastai-evaluate, -predict': 'resnet_fastai.inference'}

def import_seconds(module):
    "Seconds to import `module` in a fresh interpreter: best of 3."
    code = f"import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
    return _best(lambda: float(subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, check=True).stdout))

def host_table(data):
    "The CPU-countable part: forks, aten ops, reads, checkpoint, warm `cifar10_dls`, validation loader, imports."
    res = one_run(data)
    cifar10_dls(data)
    res['warm_dls_seconds'] = _best(lambda: _timed(lambda: cifar10_dls(data)))
    res['valid_pass_seconds'] = {nw: valid_pass(data, nw) for nw in (0, 2)}
    res['import_seconds'] = {k: import_seconds(m) for k,m in _scripts.items()}
    return res

def floor(dev, bs, n_batches):
    "Images/s of forward + backward + `adamw` step on a batch already on `dev`, in bf16 autocast + channels_last."
    torch.backends.cudnn.benchmark = True
    model = CustomResNet().to(dev, memory_format=torch.channels_last)
    opt = adamw(norm_bias_split(model), lr=1e-3)
    x = torch.randn(bs, 3, 32, 32, device=dev).to(memory_format=torch.channels_last)
    y = torch.randint(0, 10, (bs,), device=dev)
    def step():
        with torch.autocast(dev.type, dtype=torch.bfloat16): loss = F.cross_entropy(model(x), y)
        loss.backward(); opt.step(); opt.zero_grad()
    for _ in range(10): step()  # warm-up, cuDNN's autotuning included
    _sync(dev); t = time.perf_counter()
    for _ in range(n_batches): step()
    _sync(dev)
    return bs*n_batches/(time.perf_counter()-t)

class NoValidation(Callback):
    "Skip the validation pass: only training is timed."
    def before_validate(self): raise CancelValidException()

def ours(data, dev, bs, max_batches):
    "Images/s of one training epoch (no validation) of the library's learner, as `train_run` sets it up on `dev`."
    torch.backends.cudnn.benchmark = True
    dls = cifar10_dls(data, bs=bs, device=dev)
    learn = custom_resnet_learner(dls, cbs=NoValidation())
    n = min(len(dls.train), max_batches or len(dls.train))
    dls.train.n = n*bs  # cap the epoch at `n` batches
    with learn.no_bar(), learn.no_logging():
        learn.fit(1, 1e-3)   # warm-up epoch: cuDNN's autotuning, the workers' start
        _sync(dev); t = time.perf_counter()
        learn.fit(1, 1e-3)
        _sync(dev)
    return n*bs/(time.perf_counter()-t)

def print_host(res):
    r = res['run']
    print(f"one train_run: {r['subset']:,} images, batch {r['bs']}, {r['epochs']} epochs, {r['num_it']}-iteration range test, "
          f"{r['num_workers']} workers, report\n")
    rows = [('worker processes forked', f"{res['forks']}"),
            (f"aten ops per training batch (last epoch, {res['batches']} batches)", f"{res['aten_ops_per_batch']:.1f}"),
            ('device-to-host reads per training batch', f"{res['host_reads_per_batch']:.3f}"),
            ("checkpoint, main thread's seconds per epoch", ', '.join(f'{s:.3f}' for s in res['checkpoint_main_seconds'])),
            ('warm cifar10_dls, full data from the archive, s', f"{res['warm_dls_seconds']:.2f}"),
            *[(f"validation pass, 10,000 test images, {nw} workers, s", f"{s:.3f}") for nw,s in res['valid_pass_seconds'].items()],
            *[(f"import for {k}, s", f"{s:.2f}") for k,s in res['import_seconds'].items()]]
    print(f"| {'measurement':<62} | {'value':>12} |\n|{'-'*64}|{'-'*14}|")
    for nm, v in rows: print(f"| {nm:<62} | {v:>12} |")

@call_parse
def main(
    data:str=None,       # folder or .tgz of CIFAR-10 in fastai's layout; default: download
    bs:int=512,          # batch size of the GPU measurements
    max_batches:int=None,# cap the GPU measurements at this many batches (quick check)
    out:str='bench.json',# JSON file for the tables
):
    "Count the host's work on any machine, and on a GPU also measure the floor and our epoch; print and save the tables."
    set_seed(0)
    dev = default_device()
    name = torch.cuda.get_device_name(dev) if dev.type == 'cuda' else f'cpu ({platform.machine()}, {num_cpus()} cores)'
    print(f"device: {name}, torch {torch.__version__}\n")
    res = dict(device=name, torch=torch.__version__, **host_table(data))
    Path(out).write_text(json.dumps(res, indent=2))
    print_host(res)
    if dev.type == 'cuda':
        res.update(bs=bs, floor=floor(dev, bs, max_batches or 50), ours_epoch=ours(data, dev, bs, max_batches))
        res['floor_over_ours'] = res['floor']/res['ours_epoch']
        print(f"\n| {'measurement, batch ' + str(bs):<62} | {'images/s':>12} |\n|{'-'*64}|{'-'*14}|")
        print(f"| {'floor: model + adamw step, bf16 + channels_last, data on device':<62} | {res['floor']:>12,.0f} |")
        print(f"| {'resnet_fastai training epoch, no validation':<62} | {res['ours_epoch']:>12,.0f} |")
        print(f"\nfloor / ours: {res['floor_over_ours']:.2f}x")
    Path(out).write_text(json.dumps(res, indent=2))
