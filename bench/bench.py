"""Throughput of one training epoch of the recipe, three ways, on one device (issue: GPU speed).

1. floor: `CustomResNet` forward + backward + Adam step on batches already on the device (no loader);
2. resnet_fastai: its loader alone, and one `fit` epoch of `custom_resnet_learner(cifar10_dls(...))`;
3. reference: the recipe as the published runs write it: torchvision `ImageFolder` + albumentations +
   `torch.utils.data.DataLoader` (their settings: `num_workers=2`, no pinned memory) + `torch.optim.Adam` + `OneCycleLR`, fp32.

Prints a table (images/s and ratios) and writes it as JSON. Run: `python bench/bench.py --data ../shared/cifar10.tgz --out bench.json`.
`--max-batches N` caps every measurement at N batches (for a quick check on a CPU).
"""
import json, time
from pathlib import Path
import numpy as np, torch, torch.nn.functional as F
from fastcore.script import call_parse
from fastai.vision.all import set_seed, default_device, cifar_stats, Callback, CancelValidException
import albumentations as A
from torchvision.datasets import ImageFolder
from resnet_fastai.model import CustomResNet
from resnet_fastai.data import cifar10_dls, cifar10_path, cifar_aug
from resnet_fastai.learner import custom_resnet_learner

def _sync(dev):
    if dev.type == 'cuda': torch.cuda.synchronize(dev)

def _rate(n_images, seconds): return n_images/seconds

def floor(dev, bs, n_batches):
    "Images/s of forward + backward + Adam step on random batches already on `dev`."
    model = CustomResNet().to(dev)
    opt = torch.optim.Adam(model.parameters(), 1e-3)
    x, y = torch.randn(bs, 3, 32, 32, device=dev), torch.randint(0, 10, (bs,), device=dev)
    def step():
        loss = F.cross_entropy(model(x), y); opt.zero_grad(); loss.backward(); opt.step()
    for _ in range(3): step()  # warm-up
    _sync(dev); t = time.perf_counter()
    for _ in range(n_batches): step()
    _sync(dev)
    return _rate(bs*n_batches, time.perf_counter()-t)

class NoValidation(Callback):
    "Skip the validation pass: only training is timed."
    def before_validate(self): raise CancelValidException()

def ours(data, dev, bs, max_batches):
    "Images/s of resnet_fastai's training loader alone, and of one training epoch (no validation)."
    dls = cifar10_dls(data, bs=bs, device=dev)
    n = min(len(dls.train), max_batches or len(dls.train))
    t = time.perf_counter()
    for i,_ in zip(range(n), dls.train): pass
    loader = _rate(n*bs, time.perf_counter()-t)
    learn = custom_resnet_learner(dls, cbs=NoValidation())
    dls.train.n = n*bs  # cap the epoch at `n` batches
    with learn.no_bar(), learn.no_logging():
        learn.fit(1, 1e-3)   # warm-up epoch (worker start, cuDNN autotune)
        _sync(dev); t = time.perf_counter()
        learn.fit(1, 1e-3)
        _sync(dev)
    return loader, _rate(n*bs, time.perf_counter()-t)

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
    return _rate(epochs*n*bs, time.perf_counter()-t)

@call_parse
def main(
    data:str=None,       # folder or .tgz of CIFAR-10 in fastai's layout; default: download
    bs:int=512,          # batch size
    ref_epochs:int=2,    # epochs of the reference
    max_batches:int=None,# cap every measurement at this many batches (quick CPU check)
    out:str='bench.json',# JSON file for the table
):
    "Measure the floor, resnet_fastai and the plain-PyTorch reference on one device; print and save the table."
    set_seed(0)
    dev = default_device()
    name = torch.cuda.get_device_name(dev) if dev.type == 'cuda' else 'cpu'
    n_floor = max_batches or 50
    res = dict(device=name, bs=bs, torch=torch.__version__, floor=floor(dev, bs, n_floor))
    res['ours_loader'], res['ours_epoch'] = ours(data, dev, bs, max_batches)
    res['reference'] = reference(data, dev, bs, ref_epochs, max_batches)
    res['ours_over_reference'] = res['ours_epoch']/res['reference']
    res['floor_over_ours'] = res['floor']/res['ours_epoch']
    Path(out).write_text(json.dumps(res, indent=2))
    print(f"device: {name}, batch size {bs}")
    print(f"{'measurement':<34}{'images/s':>12}")
    for k, nm in [('floor', 'floor: model only, data on device'), ('ours_loader', 'resnet_fastai loader alone'), ('ours_epoch', 'resnet_fastai training epoch'), ('reference', 'plain PyTorch reference')]:
        print(f"{nm:<34}{res[k]:>12,.0f}")
    print(f"ours / reference: {res['ours_over_reference']:.2f}x   floor / ours: {res['floor_over_ours']:.2f}x")
