"""Where the item pipeline's time goes, per image, in one process: JPEG/PNG decode, albumentations, and fastai's whole item pipeline.
Run: `python bench/profile_items.py --data ../shared/cifar10.tgz --n 2000`."""
import time
import numpy as np
from fastcore.script import call_parse
from fastai.vision.all import get_image_files
from resnet_fastai.data import cifar10_dls, cifar10_path, cifar_aug, open_image

def _per_image_us(f, items):
    t = time.perf_counter()
    for o in items: f(o)
    return 1e6*(time.perf_counter()-t)/len(items)

@call_parse
def main(data:str=None, # folder or .tgz of CIFAR-10 in fastai's layout
         n:int=2000):   # images to time
    "Print microseconds per image of each stage of the training item pipeline (one process, one core)."
    fns = get_image_files(cifar10_path(data)/'train')[:n]
    imgs = [np.asarray(open_image(f)) for f in fns]
    aug = cifar_aug(seed=0)
    dl = cifar10_dls(data, bs=64, num_workers=0).train
    rows = [('decode (open_image: PIL, RGB)', _per_image_us(open_image, fns)),
            ('albumentations pad-crop-flip-cutout', _per_image_us(lambda a: aug(image=a), imgs)),
            ('fastai item pipeline (decode+aug+tensor)', _per_image_us(lambda i: dl.do_item(i), range(n)))]
    for nm, us in rows: print(f'{nm:<44}{us:8.0f} µs/image  ({1e6/us:,.0f} images/s per core)')
