"""Build the docs site offline into `_docs/`, and README.md from `nbs/index.ipynb`.

`nbdev-docs` builds the public site with Quarto, which cannot be installed on every machine (not on this
project's CI). This script renders the same pages without it:

1. nbdev's own steps before Quarto: `refresh_quarto_yml`, `nbdev_sidebar` and `proc_nbs`, which runs nbdev's
   processors (frontmatter, `#| hide`, `#| export`, `show_doc` of every exported name) into `_proc/`;
2. nbconvert's HTML exporter (the `lab` template, with `docs_template/page.html.j2` adding a sidebar from
   `nbs/sidebar.yml` and no script from the network), one page per notebook, named by its `output-file`
   as on the Quarto site (`00_model.ipynb` -> `model.html`);
3. nbconvert's Markdown exporter on the processed `index.ipynb` gives README.md (what `nbdev-readme` does
   with Quarto), so the README and the home page cannot drift.

    python tools/docs.py             # _docs/*.html and README.md
    python tools/docs.py --check     # build nothing; fail if README.md differs from index.ipynb
    python -m http.server -d _docs   # then open http://localhost:8000
"""
import json, os, re, shutil, sys
from pathlib import Path

import nbformat, yaml
from fastcore.script import call_parse
from nbconvert import HTMLExporter, MarkdownExporter
from nbdev.config import get_config
from nbdev.quarto import nbdev_sidebar, refresh_quarto_yml
from nbdev.serve import proc_nbs

TEMPLATE = Path(__file__).parent/'docs_template'
_re_opt = re.compile(r'^#\|\s*([\w-]+)\s*:?\s*(.*?)\s*$')
_re_fm = re.compile(r'^---\n(.*?)\n---', re.S)
_cell_keys = {'cell_type', 'id', 'metadata', 'source', 'outputs', 'execution_count', 'attachments'}


def cell_options(cell):
    "Remove the Quarto options (`#| echo: false` lines) that open `cell`'s source and return them as a dict."
    lines, opts = cell.source.splitlines(), {}
    while lines and (m := _re_opt.match(lines[0])): opts[m[1]] = m[2]; lines.pop(0)
    cell.source = '\n'.join(lines)
    return opts


def settle_cr(text):
    "`text` as a terminal or Jupyter shows it: a line keeps what follows its last `\\r`, and goes if that is blank (a finished progress bar)."
    out = []
    for l in text.replace('\r\n', '\n').split('\n'):
        if '\r' in l:
            l = l.rsplit('\r', 1)[-1]
            if not l.strip(): continue
        out.append(l)
    return '\n'.join(out)


def frontmatter(nb, name='notebook'):
    "The YAML frontmatter (`title`, `description`, `output-file`) of processed notebook `nb`; raises `ValueError` if it has none."
    c = nb.cells[0] if nb.cells else None
    m = c is not None and c.cell_type == 'raw' and _re_fm.match(c.source.strip())
    if not m: raise ValueError(f"{name}: no frontmatter; open the notebook with a markdown cell holding `# Title` and `> summary`")
    return yaml.safe_load(m[1])


def read_nb(path):
    "The notebook at `path` as an `nbformat` node, less what nbdev's processors add to cells that nbformat's schema rejects."
    nb = json.loads(Path(path).read_text(encoding='utf-8'))
    for i, c in enumerate(nb['cells']):
        c.get('metadata', {}).pop('execution', None)        # timings from the show_doc runner
        nb['cells'][i] = {k: v for k, v in c.items() if k in _cell_keys}   # `has_sd` and the like
    return nbformat.reads(json.dumps(nb), as_version=4)


def page_nb(path):
    "The processed notebook at `path`, ready to render, and its frontmatter: `# title` and `> description` first, Quarto cell options applied."
    nb = read_nb(path)
    fm = frontmatter(nb, path)
    title = f"# {fm['title']}" + (f"\n\n> {fm['description']}" if fm.get('description') else '')
    cells = [nbformat.v4.new_markdown_cell(title)]
    for c in nb.cells[1:]:
        if c.cell_type == 'code':
            opts = cell_options(c)
            if opts.get('include') == 'false': continue
            if opts.get('output') == 'false': c.outputs = []
            for o in c.outputs:
                if o.output_type == 'stream': o.text = settle_cr(o.text)
            c.outputs = [o for o in c.outputs if o.output_type != 'stream' or o.text.strip()]
            last = (c.source.strip().splitlines() or [''])[-1]
            for o in c.outputs:           # alt text for figures: the line of code that drew them
                if any(k.startswith('image/') for k in o.get('data', {})): o.setdefault('metadata', {})['alt'] = f'Figure drawn by: {last}'
            if opts.get('echo') == 'false' or not c.source.strip():
                if not c.outputs: continue
                c.metadata.setdefault('transient', {})['remove_source'] = True
        cells.append(c)
    nb.cells, nb.metadata['title'] = cells, fm['title']
    return nb, fm


def sidebar_nbs(nbs_path):
    "Notebook paths listed in `nbs_path/sidebar.yml` (nbdev's `nbdev_sidebar` output), in order."
    def walk(items):
        for o in items:
            if isinstance(o, str): yield o
            elif isinstance(o, dict): yield from walk(o.get('contents', []))
    sb = yaml.safe_load((Path(nbs_path)/'sidebar.yml').read_text())
    return list(walk(sb['website']['sidebar']['contents']))


def _lower_ids(html):
    "Lower-case heading ids and their anchor links, as Quarto does, so `_modidx.py`'s `model.html#customresnet` resolves."
    html = re.sub(r'(<h[1-6] id=")([^"]+)', lambda m: m[1] + m[2].lower(), html)
    return re.sub(r'(<a class="anchor-link" href="#)([^"]+)', lambda m: m[1] + m[2].lower(), html)


def readme_md(proc_index):
    "README.md's text from the processed `index.ipynb` at `proc_index`; raises `ValueError` if it has figures (README takes text only)."
    nb, _ = page_nb(proc_index)
    md, res = MarkdownExporter().from_notebook_node(nb)
    if res.get('outputs'): raise ValueError(f'{proc_index}: outputs with figures cannot go into README.md; move them to another notebook')
    return re.sub(r'\n{3,}', '\n\n', md).strip() + '\n'


def build(dest=None, readme=True):
    "Build every notebook of `sidebar.yml` into `dest` (default: `doc_path`, `_docs/`) and, with `readme`, README.md; returns `dest`."
    cfg = get_config()
    os.chdir(cfg.config_path)
    refresh_quarto_yml()                  # the Quarto configuration `nbdev-docs` would write, kept in sync
    nbdev_sidebar.__wrapped__()
    proc = proc_nbs(cfg.nbs_path, n_workers=0, force=True)
    dest = Path(dest or cfg.doc_path)
    if dest.exists(): shutil.rmtree(dest)
    dest.mkdir(parents=True)
    nbs = [page_nb(proc/f) for f in sidebar_nbs(cfg.nbs_path)]
    pages = [dict(href=fm['output-file'], title=fm['title']) for _, fm in nbs]
    exp = HTMLExporter(template_name='lab', extra_template_paths=[str(TEMPLATE)], template_file='page.html.j2',
                       exclude_input_prompt=True, exclude_output_prompt=True)
    site = dict(title=cfg.title, pages=pages, css=(TEMPLATE/'site.css').read_text())
    for (nb, fm), page in zip(nbs, pages):
        html, _ = exp.from_notebook_node(nb, resources=dict(site=site | dict(current=page['href'])))
        (dest/page['href']).write_text(_lower_ids(html), encoding='utf-8')
    if readme: (cfg.config_path/'README.md').write_text(readme_md(proc/cfg.readme_nb), encoding='utf-8')
    return dest


@call_parse
def main(check: bool = False):  # only check that README.md is what index.ipynb gives; build nothing
    "Build the docs site into `_docs/` and README.md from `nbs/index.ipynb`, offline (no Quarto)."
    if not check:
        dest = build()
        return print(f'{len(list(dest.glob("*.html")))} pages in {dest}/ and README.md; view with: python -m http.server -d {dest}')
    cfg = get_config()
    os.chdir(cfg.config_path)
    proc = proc_nbs(cfg.nbs_path, n_workers=0, force=True, file_glob=cfg.readme_nb)
    if (cfg.config_path/'README.md').read_text(encoding='utf-8') != readme_md(proc/cfg.readme_nb):
        sys.exit(f'README.md differs from {cfg.nbs_path.name}/{cfg.readme_nb}: edit the notebook, then run python tools/docs.py')
    print('README.md matches', cfg.readme_nb)
