"""The docs site, built by `tools/docs.py` and checked in headless Chromium: `pytest tools/test_docs.py`.

Needs Debian's `chromium` and `chromium-driver` (`apt-get install chromium chromium-driver`); without them the
tests fail and say so. The site is built into a temporary folder and served on 127.0.0.1, as a web server
would serve `_docs/`. Set `DOCS_SCREENSHOTS=folder` to save screenshots of the home page and the model page.
"""
import functools, importlib, inspect, os, posixpath, re, subprocess, sys, threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import nbformat, pytest
from nbconvert import HTMLExporter
from nbdev.doclinks import NbdevLookup
from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

import docs
from resnet_fastai._modidx import d as modidx

CHROMIUM, CHROMEDRIVER = Path('/usr/bin/chromium'), Path('/usr/bin/chromedriver')
FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
         '--disable-component-update', '--disable-sync', '--window-size=1400,1000',
         '--disable-dev-shm-usage']   # Docker's 64 MB /dev/shm is too small for pages with many figures
ROOT = Path(__file__).resolve().parents[1]


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args): pass


@pytest.fixture(scope='module')
def site(tmp_path_factory):
    "The site built by a fresh Python, as `python tools/docs.py` builds it, into a temporary folder served on 127.0.0.1; yields (folder, base URL)."
    dest = tmp_path_factory.mktemp('site')/'_docs'
    subprocess.run([sys.executable, '-c', f'import docs; docs.build({str(dest)!r}, readme=False)'], cwd=ROOT/'tools', check=True)
    srv = ThreadingHTTPServer(('127.0.0.1', 0), functools.partial(_Quiet, directory=str(dest)))
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield dest, f'http://127.0.0.1:{srv.server_address[1]}/'
    srv.shutdown()


@pytest.fixture(scope='module')
def browser(tmp_path_factory):
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    if missing: pytest.fail(f"{', '.join(missing)} not found: the docs test needs Debian's chromium and chromium-driver "
                            "(apt-get install chromium chromium-driver; .ci/run installs them)", pytrace=False)
    opts = Options()
    opts.binary_location = str(CHROMIUM)
    for f in FLAGS + [f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}"]: opts.add_argument(f)
    opts.set_capability('goog:loggingPrefs', {'browser': 'ALL'})
    drv = webdriver.Chrome(options=opts, service=Service(str(CHROMEDRIVER)))
    yield drv
    drv.quit()


def open_page(browser, url):
    "Load `url`; returns the browser's console errors (level SEVERE), failed resource loads included."
    browser.get_log('browser')                 # drop what earlier pages logged
    browser.get(url)
    return [e for e in browser.get_log('browser') if e['level'] == 'SEVERE']


def nav_links(browser):
    return [a.get_attribute('href') for a in browser.find_elements(By.CSS_SELECTOR, 'nav.site-nav a')]


def notebooks():
    "Paths in nbs/ of the notebooks, skipping `_` and `.` names as `nbdev_sidebar` does."
    rels = (f.relative_to(ROOT/'nbs') for f in (ROOT/'nbs').rglob('*.ipynb'))
    return sorted(r.as_posix() for r in rels if not any(p.startswith(('.', '_')) for p in r.parts))


def notebook_files():
    "{notebook's path in nbs/: its page's path in the site}, named by the processed notebook's `output-file` in the notebook's folder."
    return {f: posixpath.join(posixpath.dirname(f), docs.frontmatter(docs.read_nb(ROOT/'_proc'/f))['output-file']) for f in notebooks()}


def public_names():
    "{page: {name: object}} for the functions and classes in each module's `__all__`, pages as `_modidx.py` gives them (`model.html`)."
    res = {}
    for mod, syms in modidx['syms'].items():
        page, m = next(iter(syms.values()))[0].split('#')[0], importlib.import_module(mod)
        res[page] = {n: getattr(m, n) for n in m.__all__ if callable(getattr(m, n))}
    return res


def test_home_page_loads_without_console_errors(site, browser):
    _, base = site
    errors = open_page(browser, base)
    assert errors == [], errors
    assert browser.title == 'resnet_fastai'
    assert browser.find_element(By.TAG_NAME, 'h1').text.startswith('resnet_fastai')
    main = browser.find_element(By.TAG_NAME, 'main').text
    assert '6573130' in main and 'torch.Size([2, 10])' in main          # the executed example's output
    heads = [th.text for th in browser.find_elements(By.CSS_SELECTOR, 'main table th')]
    assert 'test accuracy (mean ± std)' in heads, heads                 # the results table
    if out := os.environ.get('DOCS_SCREENSHOTS'):
        Path(out).mkdir(parents=True, exist_ok=True); browser.save_screenshot(str(Path(out)/'home.png'))


def test_error_tables_are_on_the_pages_the_home_page_links(site, browser):
    _, base = site
    open_page(browser, base)
    links = [a.get_attribute('href') for a in browser.find_elements(By.CSS_SELECTOR, 'main a') if a.get_attribute('href').endswith('#errors')]
    assert len(links) == 4, links
    for href in links:
        assert href.startswith(base), f'{href}: not a page of this site'
        assert open_page(browser, href) == [], href
        rows = browser.find_elements(By.XPATH, '//*[@id="errors"]/following::table[1]//tr')
        assert len(rows) > 1 and rows[0].text.startswith('input'), (href, [r.text for r in rows[:2]])


def test_every_notebook_is_a_page_in_the_navigation(site, browser):
    dest, base = site
    open_page(browser, base)
    names = {urlsplit(h).path.lstrip('/') for h in nav_links(browser)}
    test_pages = set(notebook_files().values())
    assert len(test_pages) == len(notebook_files()) and 'index.html' in test_pages
    assert names == test_pages, (names, test_pages)
    assert {p.relative_to(dest).as_posix() for p in dest.rglob('*.html')} == test_pages


def test_navigation_links_resolve_to_pages_of_the_site(site, browser):
    dest, base = site
    open_page(browser, base)
    home_nav = nav_links(browser)
    for href in home_nav:
        assert href.startswith(base), f'{href} leaves the site'
        errors = open_page(browser, href)
        assert errors == [], (href, errors)
        assert (dest/urlsplit(href).path.lstrip('/')).is_file(), href
        h1 = browser.find_element(By.TAG_NAME, 'h1').text
        assert h1.rstrip('¶') == browser.title != '', (href, browser.title, h1)
        assert nav_links(browser) == home_nav, f'{href}: another navigation bar'


@pytest.mark.parametrize('page', sorted(public_names()))
def test_api_page_shows_each_public_function(site, browser, page):
    _, base = site
    assert open_page(browser, urljoin(base, page)) == []
    for name, obj in public_names()[page].items():
        h = browser.find_elements(By.XPATH, f'//h3[starts-with(@id, "{name.lower()}") and normalize-space(text())="{name}"]')
        assert h and h[0].is_displayed(), f'{page}: no heading for {name}'
        doc_out = h[0].find_element(By.XPATH, '..')           # the show_doc output: heading, signature, docstring
        sig = ' '.join(p.text for p in doc_out.find_elements(By.TAG_NAME, 'pre'))
        assert re.search(rf'\b(def|class) {name}\(', sig), f'{page}: no signature for {name}: {sig[:80]!r}'
        doc = ' '.join(re.sub(r'[`*]', '', inspect.getdoc(obj) or '').split())
        assert doc and doc in ' '.join(doc_out.text.split()), f'{page}: no docstring for {name}: {doc!r}'
    if page == 'model.html' and (out := os.environ.get('DOCS_SCREENSHOTS')):
        browser.save_screenshot(str(Path(out)/'model.png'))


def test_figures_from_notebooks_render(site, browser):
    _, base = site
    n_figs = {page: sum(any(k.startswith('image/') for k in o.get('data', {})) for c in docs.read_nb(ROOT/'_proc'/f).cells
                        for o in c.get('outputs', []))
              for f, page in notebook_files().items()}
    assert n_figs['report.html'] >= 4, n_figs          # LR finder, schedule, curves, confusion matrix, ...
    for page, n in n_figs.items():
        open_page(browser, urljoin(base, page))
        sizes = browser.execute_script("return [...document.querySelectorAll('main img')].map(i => [i.complete, i.naturalWidth, i.naturalHeight])")
        assert len(sizes) == n, (page, sizes, n)
        assert all(ok and w > 0 and h > 0 for ok, w, h in sizes), (page, sizes)


def test_no_page_shows_a_warning_block(site, browser):
    "Warnings a cell prints go to stderr, which the page shows as a red block: cells catch and test theirs instead."
    _, base = site
    for page in notebook_files().values():
        open_page(browser, urljoin(base, page))
        blocks = browser.find_elements(By.CSS_SELECTOR, 'main [data-mime-type="application/vnd.jupyter.stderr"]')
        assert blocks == [], (page, [b.text[:200] for b in blocks])


_draws_data = re.compile(r'\b(show_batch|show_results|plot_top_losses)\(')   # fastai's and 03_report's


def test_no_notebook_stores_dataset_images():
    "The repository holds no CIFAR-10 image, in notebook outputs either: cells that draw data set images carry `#| output: false` and store no output."
    bad = []
    for f in notebooks():
        for i, c in enumerate(docs.read_nb(ROOT/'nbs'/f).cells):
            if c.cell_type != 'code' or not c.outputs: continue
            hidden = docs._false(docs.cell_options(c).get('output', True))
            if hidden or (_draws_data.search(c.source) and any(k.startswith('image/') for o in c.outputs for k in o.get('data', {}))):
                bad.append((f, i, c.source.splitlines()[0]))
    assert bad == [], f'{bad}: outputs that draw CIFAR-10 images; mark the cells `#| output: false` and clear their outputs (Jupyter: Clear Cell Output)'


def test_readme_is_index_notebook(site):
    assert (ROOT/'README.md').read_text(encoding='utf-8') == docs.readme_md(ROOT/'_proc'/'index.ipynb'), \
        'README.md differs from nbs/index.ipynb: edit the notebook, then run python tools/docs.py'


_machine_path = re.compile(r'/root/|/tmp/|/work/|/home/\w|/\.venv/|site-packages')
_clutter = {'a machine path': _machine_path, 'a warning': re.compile(r'\w+Warning\b|\bwarnings\.warn'),
            'progress-bar text': re.compile(r'\d+\.\d+% \[\d+/\d+|<progress|█'),
            'a raw Recorder list': re.compile(r"\[\d+, -?[\d.]+, -?[\d.]+, -?[\d.]+, '\d\d:\d\d'\]")}


def page_clutter(browser):
    "What the current page's cell outputs show that a lesson should not: machine paths, warnings, progress bars, raw Recorder lists."
    outs = browser.execute_script("return [...document.querySelectorAll('main .jp-OutputArea-output')].map(o => o.innerHTML + ' ' + o.innerText)")
    return [(name, m[0]) for o in outs for name, rx in _clutter.items() if (m := rx.search(o))]


def test_no_page_shows_clutter_warnings_or_machine_paths(site, browser):
    _, base = site
    for page in notebook_files().values():
        open_page(browser, urljoin(base, page))
        assert page_clutter(browser) == [], page
        text = browser.find_element(By.TAG_NAME, 'main').text
        assert not _machine_path.search(text), page   # in code and prose neither
        assert '{target=' not in text, page           # show_doc's source links are links, not Pandoc syntax
        assert not re.search(r'\]\([\w/.-]+\.(html|ipynb)', text), page   # no markdown link left as text (nbdev links backticks inside links again)


def test_backticked_names_link_to_fastai_docs_and_to_this_site(site, browser):
    _, base = site
    open_page(browser, urljoin(base, 'data.html'))
    hrefs = [a.get_attribute('href') for a in browser.find_elements(By.CSS_SELECTOR, 'main a')]
    assert any(h.startswith('https://docs.fast.ai/') for h in hrefs), hrefs           # e.g. `DataBlock`
    own = [h for h in hrefs if h.startswith(base)]
    assert own and not any('resnet-fastai.github.io' in h for h in hrefs), hrefs    # this library's names: pages of the offline site
    for h in {h.split('#')[0] for h in own}: assert open_page(browser, h) == [], h


def test_albumentations_names_link_to_albumentations_docs(site, browser, tmp_path):
    """A name the page's code takes from albumentations links to albumentations' docs, where nbdev links fastai's
    namesake: on a page whose code uses `A.RandomCrop` (no page names one in its prose today), and on the data page."""
    dest, base = site
    md = NbdevLookup().linkify("Pad, `RandomCrop`, `A.HorizontalFlip()` and fastai's `Normalize`.")
    assert '(https://docs.fast.ai/vision.augment.html#randomcrop)' in md, md     # nbdev's link, what pages had
    code = nbformat.v4.new_code_cell('import albumentations as A\naug = A.Compose([A.RandomCrop(32, 32)])')
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_raw_cell('---\ntitle: Albu\noutput-file: albu.html\n---'),
                                         nbformat.v4.new_markdown_cell(md), code])
    nbformat.write(nb, tmp_path/'albu.ipynb')
    page, _ = docs.page_nb(tmp_path/'albu.ipynb', albu=docs.albu_names(nb))
    (dest/'albu.html').write_text(HTMLExporter(template_name='lab').from_notebook_node(page)[0], encoding='utf-8')
    try:
        open_page(browser, urljoin(base, 'albu.html'))
        links = {a.text: a.get_attribute('href') for a in browser.find_elements(By.TAG_NAME, 'a') if a.text}
    finally: (dest/'albu.html').unlink()
    assert links['RandomCrop'] == f'{docs.ALBU_DOCS}albumentations/augmentations/crops/transforms/#RandomCrop', links
    assert links['A.HorizontalFlip()'].startswith(docs.ALBU_DOCS + 'albumentations/augmentations/'), links
    assert links['Normalize'].startswith('https://docs.fast.ai/'), links   # not taken from albumentations
    albu = docs.albu_names(docs.read_nb(ROOT/'nbs'/'01_data.ipynb'))   # A.RandomCrop, A.Compose, ...
    assert 'RandomCrop' in albu and 'Normalize' not in albu, albu
    open_page(browser, urljoin(base, 'data.html'))   # the data page's links to them, if it has some
    links = [(a.text, a.get_attribute('href')) for a in browser.find_elements(By.CSS_SELECTOR, 'main a')]
    assert all(h.startswith(docs.ALBU_DOCS) for t, h in links if t.removesuffix('()') in albu), links


_wide_code = """return [...document.querySelectorAll('main pre, main code')]
    .filter(e => e.scrollWidth > e.clientWidth + 1).map(e => e.innerText.slice(0, 80))"""


def test_no_code_block_scrolls_sideways(site, browser):
    "Source cells, outputs and signatures wrap long lines at the site's width (`FLAGS`' window): none scrolls sideways."
    _, base = site
    for page in notebook_files().values():
        open_page(browser, urljoin(base, page))
        assert browser.execute_script(_wide_code) == [], page


_unreadable = re.compile(r'NoneType|typing\.|\w+\.\w+\.\w+')   # `x:NoneType`, `albumentations.core.composition.Compose`


def test_signatures_show_readable_types(site, browser):
    "show_doc's signatures name types as the code does (`A.Compose`, `Path`): no module paths, no `NoneType`."
    _, base = site
    open_page(browser, urljoin(base, 'data.html'))
    sig = browser.find_element(By.XPATH, '//h3[@id="cifar_aug"]/following::pre[1]').text
    assert ')->A.Compose:' in sig, sig
    for page in notebook_files().values():
        open_page(browser, urljoin(base, page))
        sigs = [p.text for p in browser.find_elements(By.CSS_SELECTOR, 'main .jp-RenderedMarkdown pre')]
        bad = [l for s in sigs if s.startswith(('def ', 'class ')) for l in s.split('\n')
               if _unreadable.search(l.partition(' # ')[0])]
        assert bad == [], (page, bad)


def test_console_errors_broken_images_and_clutter_are_caught(site, browser):
    "The checks above can fail: a page with a script error, a missing image, a machine path, a warning and a progress bar is reported."
    dest, base = site
    out = '<main><div class="jp-OutputArea-output"><pre>/tmp/tmpab12/run  UserWarning: x  100.00% [2/2 00:01&lt;00:00]</pre></div></main>'
    (dest/'broken.html').write_text(f'<html><body>{out}<img src="nope.png"><script>throw new Error("boom")</script></body></html>')
    try:
        errors = ' '.join(e['message'] for e in open_page(browser, urljoin(base, 'broken.html')))
        assert 'boom' in errors and '404' in errors, errors
        assert browser.execute_script("return document.querySelector('img').naturalWidth") == 0
        assert [n for n, _ in page_clutter(browser)] == ['a machine path', 'a warning', 'progress-bar text']
    finally: (dest/'broken.html').unlink()


def test_settle_cr_keeps_what_a_terminal_shows():
    assert docs.settle_cr('a\n |--| 0%\r |##| 100% [2/2]\n') == 'a\n |##| 100% [2/2]\n'
    assert docs.settle_cr('█\r\r |--| 0%\r |##| 100%\r        \r\r   ') == ''     # a bar that clears itself
    assert docs.settle_cr('x\n\ny\n') == 'x\n\ny\n'                                # blank lines of its own stay


def test_cell_options_are_read_and_removed():
    c = nbformat.v4.new_code_cell('#| echo: false\n#| output: asis\nshow_doc(f)\n#| not an option')
    assert docs.cell_options(c) == {'echo': 'false', 'output': 'asis'}
    assert c.source == 'show_doc(f)\n#| not an option'
    assert docs._false('False') and docs._false('false') and not docs._false(True) and not docs._false('asis')


def test_notebook_without_frontmatter_is_named(tmp_path):
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell('1+1')]), tmp_path/'x.ipynb')
    with pytest.raises(ValueError, match=r'x.ipynb: no frontmatter; open the notebook with a markdown cell holding `# Title`'):
        docs.page_nb(tmp_path/'x.ipynb')


def test_processed_notebooks_hold_no_warning(site):
    "What Quarto renders, nbdev's `_proc/` after its show_doc runner re-ran the imports, holds no stderr output either."
    err = [(f, i, o.text[:120]) for f in notebooks() for i, c in enumerate(docs.read_nb(ROOT/'_proc'/f).cells)
           for o in c.get('outputs', []) if o.get('name') == 'stderr']
    assert err == [], err


def test_pandoc_source_links_become_html():
    md = '[source](https://x/m.py#L15){target="_blank" style="float:right; font-size:smaller"}\n\n### f'
    assert docs._pandoc_links(md) == '<a href="https://x/m.py#L15" target="_blank" style="float:right; font-size:smaller">source</a>\n\n### f'


def test_local_links_stay_in_the_site():
    html = '<a href="https://s.io/lib/data.html#x">a</a> <a href="https://s.io/lib">b</a> <a href="https://s.io/library">c</a>'
    assert docs._local_links(html, 'https://s.io/lib', 'sub') == '<a href="../data.html#x">a</a> <a href="../index.html">b</a> <a href="https://s.io/library">c</a>'


def test_heading_ids_are_lower_case_and_unique():
    h = lambda t, i: f'<{t} id="{i}">CustomResNet<a class="anchor-link" href="#{i}">¶</a></{t}>'
    assert docs._heading_ids(h('h2', 'CustomResNet') + h('h3', 'CustomResNet')) == h('h2', 'customresnet') + h('h3', 'customresnet-1')


def test_links_to_notebooks_point_at_pages():
    pages = {'00_model.ipynb': 'model.html', 'tutorials/a.ipynb': 'tutorials/a.html'}
    assert docs._nb_links('[m](00_model.ipynb#customresnet) [x](other.ipynb)', 'index.ipynb', pages) == '[m](model.html#customresnet) [x](other.ipynb)'
    assert docs._nb_links('see [m](../00_model.ipynb)', 'tutorials/a.ipynb', pages) == 'see [m](../model.html)'
