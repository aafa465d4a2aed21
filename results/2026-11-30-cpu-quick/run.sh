#!/usr/bin/env bash
# The README's commands, as written, from a fresh clone; each timed, its output timestamped.
set -uo pipefail
cd /tmp/q/resnet_fastai
export FASTAI_HOME=/tmp/q/fastai_home   # a new user's: the archive extracted and decoded afresh
LOG=/tmp/q/log; rm -rf $LOG; mkdir -p $LOG; echo '{}' > $LOG/times.json
stamp() { python3 -u -c "import sys,time; t0=time.time(); [print(f'{time.time()-t0:7.1f} {l}', end='', flush=True) for l in sys.stdin]"; }
timed() { # name, command...
  local name=$1; shift; local t0=$(date +%s.%N)
  ( eval "$@" ) 2>&1 | stamp > "$LOG/$name.log"; local rc=${PIPESTATUS[0]}
  local dt=$(python3 -c "print(round($(date +%s.%N) - $t0, 1))")
  python3 - "$LOG/times.json" "$name" "$dt" "$rc" <<'PY'
import json, sys; p, n, dt, rc = sys.argv[1:]; d = json.load(open(p)); d[n] = dict(seconds=float(dt), rc=int(rc)); json.dump(d, open(p, 'w'), indent=1)
PY
  echo "$name: rc $rc, $dt s"
}
timed setup 'make .venv/.installed'
timed 'make train' 'make train DATA=../shared/cifar10.tgz OUT=quick ARGS="--subset 2000 --epochs 2 --bs 128 --num-it 30"'
. .venv/bin/activate
timed evaluate 'resnet-fastai-evaluate --data ../shared/cifar10.tgz --subset 2000 --weights quick/model.safetensors'
timed report 'resnet-fastai-report --run quick'
timed tar 'tar -xzf ../shared/cifar10.tgz -C quick cifar10/test/cat/0000.jpg cifar10/test/ship/0000.jpg'
timed predict 'resnet-fastai-predict --weights quick/model.safetensors --topk 3 --tta quick/cifar10/test/*/0000.jpg'
timed ablate 'resnet-fastai-ablate --data ../shared/cifar10.tgz --subset 1000 --bs 50 --epochs 1 --num-it 20 --seeds 0 --variants no-cutout --out quick-ablation'
cat > example.py <<'PY'
from resnet_fastai.data import cifar10_dls
from resnet_fastai.learner import custom_resnet_learner, find_lr_range, one_cycle_kwargs

dls = cifar10_dls('../shared/cifar10.tgz', bs=128, subset=2000)  # or cifar10_dls() to download CIFAR-10
learn = custom_resnet_learner(dls)                 # CustomResNet, Adam, cross-entropy, accuracy
lr_min, lr_max = find_lr_range(learn, num_it=30)   # fastai's lr_find: LRMIN and LRMAX
learn.fit_one_cycle(2, **one_cycle_kwargs(lr_min, lr_max))   # up to LRMAX, peak at 5/24, back to LRMIN
loss, acc = learn.validate()
print(f"test accuracy {acc:.2%} on {len(dls.valid_ds)} test images")
PY
timed python 'python example.py'
echo done
