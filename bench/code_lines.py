"""Code lines of the package, as issue 21 counts them: non-blank, non-comment lines of resnet_fastai/*.py but
_modidx.py, with the p90 line length and the lines over 100 and 120 characters; at a git revision, or the work tree.

    python bench/code_lines.py [REV]"""
import subprocess, sys
from pathlib import Path

def sources(rev=None)->list: # the package's modules' texts, but nbdev's index
    if rev is None: return [p.read_text() for p in Path('resnet_fastai').glob('*.py') if p.name != '_modidx.py']
    names = subprocess.check_output(['git', 'ls-tree', '--name-only', rev, 'resnet_fastai/'], text=True).split()
    return [subprocess.check_output(['git', 'show', f'{rev}:{n}'], text=True)
            for n in names if n.endswith('.py') and not n.endswith('_modidx.py')]

def code_lines(rev=None)->dict:
    "Count, p90 length and long lines of the package's code lines."
    ls = sorted(len(l) for s in sources(rev) for l in s.splitlines() if l.strip() and not l.strip().startswith('#'))
    return dict(lines=len(ls), p90=ls[int(0.9*len(ls))], over_100=sum(n > 100 for n in ls), over_120=sum(n > 120 for n in ls))

if __name__ == '__main__': print(code_lines(sys.argv[1] if len(sys.argv) > 1 else None))
