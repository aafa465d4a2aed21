from resnet_fastai.data import cifar10_dls
from resnet_fastai.learner import custom_resnet_learner, find_lr_range, one_cycle_kwargs

dls = cifar10_dls('../shared/cifar10.tgz', bs=128, subset=2000)  # or cifar10_dls() to download CIFAR-10
learn = custom_resnet_learner(dls)                 # CustomResNet, Adam, cross-entropy, accuracy
lr_min, lr_max = find_lr_range(learn, num_it=30)   # fastai's lr_find: LRMIN and LRMAX
learn.fit_one_cycle(2, **one_cycle_kwargs(lr_min, lr_max))   # up to LRMAX, peak at 5/24, back to LRMIN
loss, acc = learn.validate()
print(f"test accuracy {acc:.2%} on {len(dls.valid_ds)} test images")
