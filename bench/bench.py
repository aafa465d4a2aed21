"""Throughput of the recipe's data loading and training, on one machine (issues: GPU speed, fast path).

Always (CPU or GPU), the loader table:
1. albumentations `cifar_aug` alone, one core, on the decoded uint8 images: images/s;
2. the training loader of `cifar10_dls` alone, with `num_workers` 0, 1 and 2 (and the default): images/s over one epoch of
   the uint8 batches it hands to the device (where `IntToFloatTensor` and `Normalize` run), and the ratio
   loader(1 worker) / albumentations alone (1.0 means the loader costs what albumentations costs). Once more with 1 worker
   and those batch transforms run on this CPU, in the main process, as a CPU-only training does;
3. a first and a second `cifar10_dls(...)` call on the full data: cold and warm decoded-image cache.

On a GPU, also the training throughput, three ways:
4. floor: `CustomResNet` forward + backward + Adam step on batches already on the device (no loader), in the training
   precision (bf16 autocast + channels_last by default) and in fp32;
5. resnet_fastai: one `fit` epoch of `custom_resnet_learner(cifar10_dls(...))`, as `train_run` sets it up;
6. reference: the recipe as the published runs write it: torchvision `ImageFolder` + albumentations +
   `torch.utils.data.DataLoader` (their settings: `num_workers=2`, no pinned memory) + `torch.optim.Adam` + `OneCycleLR`, fp32.

Prints the tables and writes them as JSON. Run: `python bench/bench.py --data ../shared/cifar10.tgz --out bench.json`.
`--max-batches N` caps the GPU-part measurements at N batches (a quick check).
"""
import json, os, platform, tempfile, time
from pathlib import Path
import numpy as np, torch, torch.nn.functional as F
from fastcore.script import call_parse
from fastai.vision.all import set_seed, default_device, cifar_stats, num_cpus, Callback, CancelValidException
from torchvision.datasets import ImageFolder
from resnet_fastai.model import CustomResNet
from resnet_fastai.data import cifar10_dls, cifar10_path, cifar_aug
from resnet_fastai.learner import custom_resnet_learner

def _sync(dev):
    if dev.type == 'cuda': torch.cuda.synchronize(dev)

def albu_alone(items):
    "Images/s of `cifar_aug` alone, in this process (one core), over the images of `items` in a random order, as an epoch reads them."
    aug = cifar_aug(seed=0)
    imgs = [items[i][0] for i in np.random.default_rng(0).permutation(len(items))]
    t = time.perf_counter()
    for im in imgs: aug(image=im)
    return len(imgs)/(time.perf_counter()-t)

def loader_epoch(dl, num_workers, batch_tfms=False):
    "(images/s over one epoch of `dl` with `num_workers`, seconds to the first batch); `batch_tfms`: also run its `after_batch` here."
    dl = dl.new(num_workers=num_workers, **({} if batch_tfms else dict(after_batch=None)))
    n, t = 0, time.perf_counter()
    for i, (x, _) in enumerate(dl):
        if i == 0: first = time.perf_counter()-t
        n += len(x)
    return n/(time.perf_counter()-t), first

def loader_table(data, reps=2):
    "The CPU-measurable part: albumentations alone, the loader with 0/1/2/default workers, cold and warm `cifar10_dls`."
    cache = Path(tempfile.mkdtemp())
    t = time.perf_counter(); cifar10_dls(data, cache=cache); cold = time.perf_counter()-t
    t = time.perf_counter(); dls = cifar10_dls(data, cache=cache, device=torch.device('cpu')); warm = time.perf_counter()-t
    res = dict(cold_dls_seconds=cold, warm_dls_seconds=warm, default_workers=dls.train.fake_l.num_workers, reps=reps)  # fastai's `DataLoader.num_workers` is always 1
    # Each figure is the best of `reps` epochs, and albumentations alone is measured next to each loader run: a shared machine drifts.
    best = lambda f: max(f() for _ in range(reps))
    for nw in sorted({0, 1, 2, res['default_workers']}):
        res[f'albu_before_{nw}'] = best(lambda: albu_alone(dls.train_ds.items))
        runs = [loader_epoch(dls.train, nw) for _ in range(reps)]
        res[f'loader_{nw}'], res[f'first_batch_{nw}'] = max(r[0] for r in runs), min(r[1] for r in runs)
    res['loader_1_cpu_batch_tfms'] = best(lambda: loader_epoch(dls.train, 1, batch_tfms=True)[0])
    res['albu'] = float(np.mean([v for k,v in res.items() if k.startswith('albu_before')]))
    res['loader1_over_albu'] = res['loader_1']/res['albu_before_1']
    return res

def floor(dev, bs, n_batches, bf16):
    "Images/s of forward + backward + Adam step on random batches already on `dev`; `bf16`: autocast + channels_last."
    fmt = torch.channels_last if bf16 else torch.contiguous_format
    model = CustomResNet().to(dev, memory_format=fmt)
    opt = torch.optim.Adam(model.parameters(), 1e-3)
    x, y = torch.randn(bs, 3, 32, 32, device=dev).to(memory_format=fmt), torch.randint(0, 10, (bs,), device=dev)
    def step():
        with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=bf16): loss = F.cross_entropy(model(x), y)
        opt.zero_grad(); loss.backward(); opt.step()
    for _ in range(5): step()  # warm-up
    _sync(dev); t = time.perf_counter()
    for _ in range(n_batches): step()
    _sync(dev)
    return bs*n_batches/(time.perf_counter()-t)

class NoValidation(Callback):
    "Skip the validation pass: only training is timed."
    def before_validate(self): raise CancelValidException()

def ours(data, dev, bs, max_batches):
    "Images/s of one training epoch (no validation) of the library's learner, in its default precision for `dev`."
    torch.backends.cudnn.benchmark = True
    dls = cifar10_dls(data, bs=bs, device=dev)
    learn = custom_resnet_learner(dls, cbs=NoValidation())
    n = min(len(dls.train), max_batches or len(dls.train))
    dls.train.n = n*bs  # cap the epoch at `n` batches
    with learn.no_bar(), learn.no_logging():
        learn.fit(1, 1e-3)   # warm-up epoch (cuDNN autotune)
        _sync(dev); t = time.perf_counter()
        learn.fit(1, 1e-3)
        _sync(dev)
    return n*bs/(time.perf_counter()-t)

class _AlbuFolder(ImageFolder):
    "The published runs' dataset: `ImageFolder` with an albumentations pipeline and `ToTensor` + `Normalize`."
    def __init__(self, root, aug):
        super().__init__(root)
        self.aug, (self.mean, self.std) = aug, (np.array(s, np.float32) for s in cifar_stats)
    def __getitem__(self, i):
        img, y = super().__getitem__(i)
        x = (self.aug(image=np.asarray(img))['image'].astype(np.float32)/255 - self.mean)/self.std
        return torch.from_numpy(x.transpose(2, 0, 1)), y

def reference(data, dev, bs, epochs, max_batches):
    "Images/s of the plain PyTorch reference over `epochs` epochs."
    dl = torch.utils.data.DataLoader(_AlbuFolder(cifar10_path(data)/'train', cifar_aug()), batch_size=bs, shuffle=True, num_workers=2)
    n = min(len(dl), max_batches or len(dl))
    model = CustomResNet().to(dev)
    opt = torch.optim.Adam(model.parameters(), 1e-3)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=1e-3, epochs=epochs, steps_per_epoch=n, pct_start=5/24, three_phase=False)
    _sync(dev); t = time.perf_counter()
    for _ in range(epochs):
        for i,(x,y) in zip(range(n), dl):
            loss = F.cross_entropy(model(x.to(dev)), y.to(dev)); opt.zero_grad(); loss.backward(); opt.step(); sched.step()
    _sync(dev)
    return epochs*n*bs/(time.perf_counter()-t)

@call_parse
def main(
    data:str=None,       # folder or .tgz of CIFAR-10 in fastai's layout; default: download
    bs:int=512,          # batch size
    ref_epochs:int=2,    # epochs of the reference
    max_batches:int=None,# cap the GPU measurements at this many batches (quick check)
    out:str='bench.json',# JSON file for the tables
):
    "Measure the loader on any machine, and on a GPU also the floor, resnet_fastai and the plain-PyTorch reference; print and save the tables."
    set_seed(0)
    dev = default_device()
    name = torch.cuda.get_device_name(dev) if dev.type == 'cuda' else f'cpu ({platform.machine()}, {num_cpus()} cores)'
    res = dict(device=name, bs=bs, torch=torch.__version__, **loader_table(data))
    print(f"device: {name}, batch size {bs}, torch {torch.__version__}\n")
    print(f"| {'measurement':<58} | {'images/s':>9} |\n|{'-'*60}|{'-'*11}|")
    rows = [(f'albumentations `cifar_aug` alone, one core', res['albu'])]
    rows += [(f'training loader, num_workers={k[7:]}' + (' (default)' if int(k[7:]) == res['default_workers'] else ''), v)
             for k,v in res.items() if k.startswith('loader_') and k[7:].isdigit()]
    rows += [('training loader, num_workers=1, batch transforms on this CPU', res['loader_1_cpu_batch_tfms'])]
    for nm, v in rows: print(f"| {nm:<58} | {v:>9,.0f} |")
    print(f"\nEach figure: the best of {res['reps']} epochs of 50,000 images; albumentations alone is the mean of its runs beside each loader.")
    print(f"loader (1 worker) / albumentations alone (measured beside it): {res['loader1_over_albu']:.2f}")
    print(f"time to the first batch: {', '.join(f'{res[k]:.2f} s ({k[12:]} workers)' for k in res if k.startswith('first_batch_'))}")
    print(f"cifar10_dls on the full data: first call {res['cold_dls_seconds']:.1f} s (cold cache), second {res['warm_dls_seconds']:.1f} s (warm)")
    if dev.type == 'cuda':
        n_floor = max_batches or 50
        res['floor_fp32'], res['floor_bf16_cl'] = floor(dev, bs, n_floor, False), floor(dev, bs, n_floor, True)
        res['ours_epoch'] = ours(data, dev, bs, max_batches)
        res['reference'] = reference(data, dev, bs, ref_epochs, max_batches)
        res['ours_over_reference'], res['floor_over_ours'] = res['ours_epoch']/res['reference'], res['floor_bf16_cl']/res['ours_epoch']
        print(f"\n| {'measurement':<58} | {'images/s':>9} |\n|{'-'*60}|{'-'*11}|")
        for k, nm in [('floor_fp32', 'floor: model only, data on device, fp32'), ('floor_bf16_cl', 'floor: bf16 autocast + channels_last'),
                      ('ours_epoch', 'resnet_fastai training epoch (default precision)'), ('reference', 'plain PyTorch reference (fp32)')]:
            print(f"| {nm:<58} | {res[k]:>9,.0f} |")
        print(f"\nours / reference: {res['ours_over_reference']:.2f}x   bf16 floor / ours: {res['floor_over_ours']:.2f}x")
    Path(out).write_text(json.dumps(res, indent=2))
