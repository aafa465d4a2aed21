"""Two tiny runs of `resnet-fastai-ablate` (the default recipe, seeds 0 and 1), one after another and then at
the same time with `--parallel` on a local Ray, each command timed whole in a fresh process; and the start-up
time of a local Ray. Issue 22's figures for the CPU.

    python bench/ray_parallel.py DATA [OUT.json]"""
import json, os, platform, shutil, subprocess, sys, tempfile, time
from pathlib import Path

ARGS = '--variants default --seeds 0-1 --subset 500 --epochs 2 --bs 50 --num-it 10'.split()

def timed(cmd:list, **kwargs)->float: # seconds of the command; its output if it fails
    t0 = time.perf_counter(); r = subprocess.run(cmd, capture_output=True, text=True, **kwargs)
    if r.returncode: sys.exit(f"{' '.join(map(str, cmd))} failed:\n{r.stdout}\n{r.stderr}")
    return time.perf_counter() - t0

def ray_start()->float: # seconds of `ray.init(address='local')` in this process, then shut down
    import ray
    t0 = time.perf_counter(); ray.init(address='local', include_dashboard=False, logging_level='WARNING')
    s = time.perf_counter() - t0; ray.shutdown(); return s

if __name__ == '__main__':
    data, fn = sys.argv[1], (sys.argv[2:] or [None])[0]
    os.environ.update(NO_ALBUMENTATIONS_UPDATE='1', RAY_USAGE_STATS_ENABLED='0')
    script, tmp = Path(sys.executable).parent/'resnet-fastai-ablate', Path(tempfile.mkdtemp())
    try:
        r = dict(command=' '.join(['resnet-fastai-ablate', '--data', 'DATA', *ARGS]), ray_start_s=ray_start(),
                 cpus=os.cpu_count(), machine=platform.processor() or platform.machine())
        r['sequential_s'] = timed([script, '--data', data, *ARGS, '--out', tmp/'seq'])
        r['parallel_s'] = timed([script, '--data', data, *ARGS, '--out', tmp/'par', '--parallel'])
        r['again_parallel_s'] = timed([script, '--data', data, *ARGS, '--out', tmp/'par', '--parallel'])
    finally: shutil.rmtree(tmp, ignore_errors=True)
    print(json.dumps(r, indent=2))
    if fn: Path(fn).write_text(json.dumps(r, indent=2) + '\n')
