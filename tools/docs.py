"""Build the docs site offline into `_docs/`, and README.md from `nbs/index.ipynb`.

`nbdev-docs` builds the public site with Quarto, which cannot be installed on every machine (not on this
project's CI). This script renders the same pages without it:

1. nbdev's own steps before Quarto: `refresh_quarto_yml`, `nbdev_sidebar` and `proc_nbs`, which runs nbdev's
   processors (frontmatter, `#| hide`, `#| export`, `show_doc` of every exported name, links of backticked names
   to fastai's docs and this site's) into `_proc/`; then, page by page, albumentations' names the page's code uses
   link to albumentations' docs instead, and show_doc's signatures name types as the code does (`A.Compose`);
2. nbconvert's HTML exporter (the `lab` template, with `docs_template/page.html.j2` adding a sidebar from
   `nbs/sidebar.yml` and no script from the network), one page per notebook, named by its `output-file`
   in its notebook's folder as on the Quarto site (`00_model.ipynb` -> `model.html`);
3. nbconvert's Markdown exporter on the processed `index.ipynb` gives README.md (what `nbdev-readme` does
   with Quarto), so the README and the home page cannot drift.

    python tools/docs.py             # _docs/*.html and README.md
    python tools/docs.py --check     # build nothing; fail if README.md differs from index.ipynb
    python -m http.server -d _docs   # then open http://localhost:8000
"""
import ast, functools, importlib, inspect, json, os, posixpath, pydoc, re, shutil, sys
from collections import Counter
from pathlib import Path

import nbformat, yaml
from fastcore.script import call_parse
from nbconvert import HTMLExporter, MarkdownExporter
from nbdev.config import get_config
from nbdev.quarto import nbdev_sidebar, refresh_quarto_yml
from nbdev.processors import filter_stream_
from nbdev.serve import proc_nbs

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT/'tools'/'docs_template'
_re_opt = re.compile(r'^#\|\s*([\w-]+)\s*:?\s*(.*?)\s*$')
_re_fm = re.compile(r'^---\n(.*?)\n---', re.S)
_re_nblink = re.compile(r'\]\(([^)\s#]+?\.ipynb)(#[^)\s]*)?\)')
_cell_keys = {'cell_type', 'id', 'metadata', 'source', 'outputs', 'execution_count', 'attachments'}
ALBU, ALBU_DOCS = 'albumentations', 'https://albumentations.ai/docs/api-reference/'   # + module path + `/#Class`


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


def _false(v): return str(v).strip().lower() == 'false'   # Quarto reads option values as YAML: false, False, FALSE


def _nb_links(src, nb_rel, pages):
    "Markdown links to a notebook (`[Model](00_model.ipynb#anchor)`) pointed at its page, as Quarto does; `pages` maps notebook to page paths."
    here = posixpath.dirname(nb_rel)
    def fix(m):
        page = pages.get(posixpath.normpath(posixpath.join(here, m[1])))
        return f"]({posixpath.relpath(page, here or '.')}{m[2] or ''})" if page else m[0]
    return _re_nblink.sub(fix, src)


def _pandoc_links(md):
    "show_doc's `[source](url){target=\"_blank\" style=\"...\"}` (Pandoc's link attributes, which Quarto reads) as an HTML link nbconvert renders."
    return re.sub(r'\[([^\]]+)\]\(([^)\s]+)\)\{target="([^"]*)" style="([^"]*)"\}', r'<a href="\2" target="\3" style="\4">\1</a>', md)


@functools.cache
def albu_urls():
    "{class: its entry in albumentations' API reference} for the classes of `albumentations` (`A.RandomCrop`)."
    os.environ.setdefault('NO_ALBUMENTATIONS_UPDATE', '1')    # no request to PyPI on import
    import albumentations as A
    return {n: f"{ALBU_DOCS}{o.__module__.replace('.', '/')}/#{n}" for n, o in vars(A).items()
            if inspect.isclass(o) and o.__module__.startswith(f'{ALBU}.')}


def albu_names(nb):
    "What notebook `nb`'s code takes from albumentations: `RandomCrop` and `A.RandomCrop` for its `A.RandomCrop`."
    aliases, names, attrs = set(), set(), set()
    for c in nb.cells:
        if c.cell_type != 'code': continue
        try: tree = ast.parse(c.source)
        except SyntaxError: continue                         # cells with magics
        for o in ast.walk(tree):
            if isinstance(o, ast.Import): aliases |= {a.asname or a.name for a in o.names if a.name == ALBU}
            elif isinstance(o, ast.ImportFrom) and (o.module or '').split('.')[0] == ALBU:
                names |= {a.asname or a.name for a in o.names}
            elif isinstance(o, ast.Attribute) and isinstance(o.value, ast.Name): attrs.add((o.value.id, o.attr))
    return names | {s for a, n in attrs if a in aliases for s in (n, f'{a}.{n}')}


_re_ticked = re.compile(r'\[`([\w.]+?)(\(\))?`\]\([^)\s]*\)|`([\w.]+?)(\(\))?`')   # `name` or [`name`](url)


def _albu_links(md, names=()):
    """Backticked albumentations classes in markdown `md` linked to albumentations' API reference, not to a
    namesake's docs (fastai's `RandomCrop`): those written `A.RandomCrop`, and those in `names` (`albu_names`)."""
    urls = albu_urls()
    def fix(m):
        s, call = (m[1], m[2]) if m[1] else (m[3], m[4])
        pre, _, n = s.rpartition('.')
        if n not in urls or not (s in names or pre in ('A', ALBU)): return m[0]
        return f"[`{s}{call or ''}`]({urls[n]})"
    fence, lines = False, md.split('\n')
    for i, l in enumerate(lines):              # as nbdev's `linkify`: not in code blocks
        if l.startswith('```'): fence = not fence
        elif not fence and not l.startswith('    '): lines[i] = _re_ticked.sub(fix, l)
    return '\n'.join(lines)


@functools.cache
def _lib_ns():
    "The names this library's modules see, their globals merged: how its code names types (`A.Compose`, `nn.Module`)."
    mods = importlib.import_module(f'{get_config().lib_path.name}._modidx').d['syms']
    return {k: v for m in mods for k, v in vars(importlib.import_module(m)).items()}


def _spell(dotted, ns):
    "The object at `dotted` (`albumentations.core.composition.Compose`) as `ns` names it (`A.Compose`), else its last part."
    obj, n = pydoc.locate(dotted), dotted.rpartition('.')[2]
    if obj is None: return dotted
    if ns.get(n) is obj: return n
    alias = next((k for k, v in ns.items() if inspect.ismodule(v) and getattr(v, n, None) is obj), None)
    return f'{alias}.{n}' if alias else n


_re_type = re.compile(r'(?<=[:>|\[,])(\s*)([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+)')   # a dotted name after `:`, `->`, `|`, ...


def _sig_types(md):
    "show_doc's signatures in `md` with readable types: `A.Compose`, not a module path; `x=None`, not `x:NoneType=None`."
    def code(l):                               # the signature, not its docment comment
        c, sep, doc = l.partition(' # ')
        return _re_type.sub(lambda m: m[1] + _spell(m[2], _lib_ns()), c.replace(':NoneType=', '=')) + sep + doc
    return re.sub(r'(?s)(```python\n)(.*?)```', lambda m: m[1] + '\n'.join(map(code, m[2].split('\n'))) + '```', md)


def page_nb(path, nb_rel=None, pages=None, albu=()):
    """The processed notebook at `path`, ready to render, and its frontmatter: `# title` and `> description` first,
    Quarto cell options applied (`include`, `echo`, `output: false`, and nbdev's `filter_stream`), progress bars settled,
    links to other notebooks (`nb_rel` is this one's path in nbs/, `pages` maps those to pages) pointed at their pages,
    show_doc's source links made HTML and its signatures readable, albumentations' classes (`albu`: what the page's
    code takes from albumentations) linked to albumentations' docs.
    `code-fold` is not honoured: folded code shows unfolded."""
    nb = read_nb(path)
    fm = frontmatter(nb, Path(path).name)
    title = f"# {fm['title']}" + (f"\n\n> {fm['description']}" if fm.get('description') else '')
    cells = [nbformat.v4.new_markdown_cell(title)]
    for c in nb.cells[1:]:
        if c.cell_type == 'markdown' and pages: c.source = _nb_links(c.source, nb_rel, pages)
        if c.cell_type == 'markdown': c.source = _albu_links(c.source, albu)
        if c.cell_type == 'code':
            opts = cell_options(c)
            if _false(opts.get('include', True)): continue
            if _false(opts.get('output', True)): c.outputs = []
            if opts.get('filter_stream'): filter_stream_(c, *opts['filter_stream'].split())
            for o in c.outputs:
                if o.output_type == 'stream': o.text = settle_cr(o.text)
                if 'text/markdown' in o.get('data', {}):
                    o.data['text/markdown'] = _albu_links(_sig_types(_pandoc_links(o.data['text/markdown'])), albu)
            c.outputs = [o for o in c.outputs if o.output_type != 'stream' or o.text.strip()]
            last = (c.source.strip().splitlines() or [''])[-1]
            for o in c.outputs:           # alt text for figures: the line of code that drew them
                if any(k.startswith('image/') for k in o.get('data', {})): o.setdefault('metadata', {})['alt'] = f'Figure drawn by: {last}'
            if _false(opts.get('echo', True)) or not c.source.strip():
                if not c.outputs: continue
                c.metadata.setdefault('transient', {})['remove_source'] = True
        cells.append(c)
    nb.cells, nb.metadata['title'] = cells, fm['title']
    return nb, fm


def sidebar_nbs(nbs_path):
    "Notebooks listed in `nbs_path/sidebar.yml` (nbdev's `nbdev_sidebar` output, sections flattened), as paths relative to `nbs_path`."
    def walk(items):
        for o in items:
            if isinstance(o, str): yield o
            elif isinstance(o, dict):
                if 'href' in o: yield o['href']
                yield from walk(o.get('contents', []))
    sb = yaml.safe_load((Path(nbs_path)/'sidebar.yml').read_text())
    return [f for f in walk(sb['website']['sidebar']['contents']) if f.endswith('.ipynb')]


def _heading_ids(html):
    "Heading ids as Quarto writes them: lower case (so `_modidx.py`'s `model.html#customresnet` resolves), repeats numbered `-1`, `-2`."
    seen = Counter()
    def fix(m):
        i = m[2].lower(); n = seen[i]; seen[i] += 1
        i = f'{i}-{n}' if n else i
        return f'{m[1]}{i}{m[3]}{i}{m[4]}'
    return re.sub(r'(<h[1-6] id=")([^"]+)(">.*?<a class="anchor-link" href="#)\2(")', fix, html, flags=re.S)


def _local_links(html, site_url, here='.'):
    "Links to the public site (`site_url`: nbdev's doc links to this library, the README's links) made relative, so the offline site stays offline."
    return re.sub(rf'href="{re.escape(site_url.rstrip("/"))}(?:/([^"]*))?"', lambda m: f'href="{posixpath.relpath(m[1] or "index.html", here)}"', html)


def readme_md(proc_index):
    "README.md's text from the processed `index.ipynb` at `proc_index`; raises `ValueError` if it has figures (README takes text only)."
    nb, _ = page_nb(proc_index)
    md, res = MarkdownExporter().from_notebook_node(nb)
    if res.get('outputs'): raise ValueError(f'{proc_index}: outputs with figures cannot go into README.md; move them to another notebook')
    return md.strip() + '\n'


def build(dest=None, readme=True):
    "Build every notebook of `sidebar.yml` into `dest` (default: `doc_path`, `_docs/`) and, with `readme`, README.md; returns `dest`."
    dest = Path(dest).resolve() if dest else None
    cfg = get_config(ROOT)
    os.chdir(cfg.config_path)             # nbdev's functions below read the config from the current folder
    refresh_quarto_yml()                  # the Quarto configuration `nbdev-docs` would write, kept in sync
    nbdev_sidebar.__wrapped__()
    proc = proc_nbs(cfg.nbs_path, n_workers=0, force=True)
    dest = dest or cfg.config_path/cfg.doc_path.name
    if dest.exists(): shutil.rmtree(dest)
    files = sidebar_nbs(cfg.nbs_path)
    fms = [frontmatter(read_nb(proc/f), f) for f in files]
    pages = {f: posixpath.join(posixpath.dirname(f), fm['output-file']) for f, fm in zip(files, fms)}
    exp = HTMLExporter(template_name='lab', extra_template_paths=[str(TEMPLATE)], template_file='page.html.j2',
                       exclude_input_prompt=True, exclude_output_prompt=True)
    css = (TEMPLATE/'site.css').read_text()
    for f, fm in zip(files, fms):
        nb, _ = page_nb(proc/f, f, pages, albu_names(read_nb(cfg.nbs_path/f)))
        here = posixpath.dirname(pages[f]) or '.'
        nav = [dict(href=posixpath.relpath(p, here), title='Home' if p == 'index.html' else t['title'], current=g == f)
               for (g, p), t in zip(pages.items(), fms)]
        site = dict(title=cfg.title, home=posixpath.relpath('index.html', here), nav=nav, css=css)
        html, _ = exp.from_notebook_node(nb, resources=dict(site=site))
        (dest/pages[f]).parent.mkdir(parents=True, exist_ok=True)
        (dest/pages[f]).write_text(_local_links(_heading_ids(html), cfg.doc_host + cfg.doc_baseurl, here), encoding='utf-8')
    if readme: (cfg.config_path/'README.md').write_text(readme_md(proc/cfg.readme_nb), encoding='utf-8')
    return dest


@call_parse
def main(check: bool = False):  # only check that README.md is what index.ipynb gives; build nothing
    "Build the docs site into `_docs/` and README.md from `nbs/index.ipynb`, offline (no Quarto)."
    if not check:
        dest = build()
        return print(f'{len(list(dest.rglob("*.html")))} pages in {dest}/ and README.md; view with: python -m http.server -d {dest}')
    cfg = get_config(ROOT)
    os.chdir(cfg.config_path)
    proc = proc_nbs(cfg.nbs_path, n_workers=0, force=True, file_glob=cfg.readme_nb)
    if (cfg.config_path/'README.md').read_text(encoding='utf-8') != readme_md(proc/cfg.readme_nb):
        sys.exit(f'README.md differs from {cfg.nbs_path.name}/{cfg.readme_nb}: edit the notebook, then run python tools/docs.py')
    print('README.md matches', cfg.readme_nb)
