"""The docs stay true: every block marked runnable runs as pasted (help texts, `sessionlab cluster` with the curl
lines and runtime-API calls shown against it), every `sessionlab` line uses options that exist, the README fits
on a few screens, and every docs page is in the site's navigation and reachable from the README.

A block preceded by `<!-- runnable -->` runs from the repository's root and must exit 0. A block preceded by
`<!-- runnable: cluster -->` runs while `sessionlab cluster` runs: the page's own `sessionlab cluster` block says
how the cluster is started; the others run in one shell, after the `export` line the cluster prints, with the
documented ports (8080 for the balancer, 8084 for an added node) replaced by free ones.
"""

from __future__ import annotations

import functools
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest
import yaml

from loadtest.lab.processes import free_ports, wait_until
from tests.docs_blocks import DOCS, ROOT, Block, blocks, commands, doc_files, links, shell_blocks
from tests.support import read_banner, spawn, stop_tree

pytestmark = pytest.mark.timeout(180)

BALANCER_PORT, ADDED_NODE_PORT = 8080, 8084  # the ports the docs show
README_LINES = 200
README_LINK = re.compile(r"\]\((docs/[^)#\s]+\.md)(?:#([^)\s]+))?\)")
HEADING = re.compile(r"^#+ (.+)$", re.MULTILINE)
INLINE_COMMAND = re.compile(r"(?<!`)`(sessionlab [^`]+)`(?!`)")
ISSUE_NUMBER = re.compile(r"\bissues?\s*#?\d+", re.IGNORECASE)
# What the answers to the documented calls must say (a call's answer is checked wherever a block makes it).
EXPECTED = {
    "/login": '"session": "new"',
    "/_balancer/status": '"routing": "random"',
    "/_balancer/upstreams/drain": '"state": "draining"',
    "/_balancer/upstreams/ready": '"state": "ready"',
    '-X POST -H "Authorization: Bearer $BALANCER_ADMIN_TOKEN" -d \'{"url"': '"added": true',
    "-X DELETE": '"removed": true',
    "-w '%{http_code}\\n'": "401",
}


def environment(tmp: Path) -> dict[str, str]:
    """This interpreter's scripts (sessionlab, python, mkdocs) first on PATH; temporary files under `tmp`."""
    return {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}", "TMPDIR": str(tmp)}


def marked(kind: str) -> list[Block]:
    return [block for block in shell_blocks() if block.runnable == kind]


def test_the_readme_fits_on_a_few_screens() -> None:
    lines = (ROOT / "README.md").read_text().splitlines()
    assert len(lines) <= README_LINES, f"README.md has {len(lines)} lines; move the detail into docs/"


def test_every_docs_page_is_in_the_nav_and_reachable_from_the_readme() -> None:
    pages = {path.resolve() for path in DOCS.rglob("*.md")}
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text())
    in_nav = {(DOCS / name).resolve() for name in _nav_pages(config["nav"])}
    assert pages - in_nav == set(), "pages missing from mkdocs.yml's nav"
    assert in_nav - pages == set(), "nav entries without a page"
    reached, todo = set(), [(ROOT / "README.md").resolve()]
    while todo:
        page = todo.pop()
        if page not in reached and page.exists():
            reached.add(page)
            todo += links(page)
    assert pages - reached == set(), "pages no link from the README leads to"


def test_the_readmes_links_into_docs_name_pages_and_headings_that_exist() -> None:
    """mkdocs checks the links between docs pages; the README is outside the site, so it is checked here."""
    broken = []
    for target, anchor in README_LINK.findall((ROOT / "README.md").read_text()):
        page = ROOT / target
        if not page.exists():
            broken.append(target)
        elif anchor and anchor not in {_slug(heading) for heading in HEADING.findall(page.read_text())}:
            broken.append(f"{target}#{anchor}")
    assert broken == []


def _slug(heading: str) -> str:
    """The id Python-Markdown's toc extension gives a heading (its default slugify)."""
    text = unicodedata.normalize("NFKD", heading).encode("ascii", "ignore").decode()
    return re.sub(r"[-\s]+", "-", re.sub(r"[^\w\s-]", "", text).strip().lower())


def _nav_pages(nav: object) -> list[str]:
    if isinstance(nav, str):
        return [nav]
    if isinstance(nav, dict):
        return [page for value in nav.values() for page in _nav_pages(value)]
    if isinstance(nav, list):
        return [page for item in nav for page in _nav_pages(item)]
    return []


def test_no_internal_issue_numbers_in_the_docs() -> None:
    found = [f"{path.relative_to(ROOT)}: {match.group(0)}" for path in doc_files()
             for match in ISSUE_NUMBER.finditer(path.read_text())]  # fmt: skip
    assert found == []


def test_the_docs_mark_runnable_blocks_of_both_kinds() -> None:
    assert {block.path.name for block in marked("cluster")} >= {"README.md", "cluster.md", "balancer.md"}
    helps = {" ".join(line.split()[:2]) for block in marked("") for line in commands(block.text)}
    assert helps >= {"sessionlab --help", *(f"sessionlab {name}" for name in _subcommands())}
    assert {block.runnable for block in shell_blocks()} <= {None, "", "cluster"}


@functools.cache
def _subcommands() -> tuple[str, ...]:
    from loadtest.cli import SUBCOMMANDS

    return tuple(SUBCOMMANDS)


@functools.cache
def _help(command: str) -> str:
    result = subprocess.run([sys.executable, "-m", "loadtest.cli", command, "--help"], cwd=ROOT, capture_output=True,
                            text=True, timeout=60, check=False)  # fmt: skip
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_every_sessionlab_line_names_a_real_command_and_real_options() -> None:
    """In shell blocks and in inline code (`sessionlab compare --quick` in a sentence) alike."""
    lines = [(block.where, line) for block in shell_blocks() for line in commands(block.text)]
    lines += [(str(path.relative_to(ROOT)), " ".join(match.group(1).split()))
              for path in doc_files() for match in INLINE_COMMAND.finditer(path.read_text())]  # fmt: skip
    wrong = []
    for where, line in lines:
        words = shlex.split(line, comments=True)
        if len(words) < 2 or words[0] != "sessionlab" or not re.fullmatch(r"[a-z]+", words[1]):
            continue  # `sessionlab --help`, a placeholder (`sessionlab <command>`) or output (`sessionlab node: ...`)
        if words[1] not in _subcommands():
            wrong.append(f"{where}: no command {words[1]!r}")
            continue
        own, passed = words[2:], []
        if "--" in own:  # `sessionlab repeat ... -- <compare options>`: those after `--` are compare's
            own, passed = own[: own.index("--")], own[own.index("--") + 1 :]
        for command, given in ((words[1], own), ("compare", passed)):
            options = {word.split("=", 1)[0] for word in given if re.fullmatch(r"--[\w-]+(=.*)?", word)}
            wrong += [f"{where}: sessionlab {command} has no {option}" for option in sorted(options)
                      if not re.search(rf"(?<![\w-]){re.escape(option)}(?![\w-])", _help(command))]  # fmt: skip
    assert wrong == []


@pytest.mark.parametrize("block", marked(""), ids=lambda block: block.where)
def test_a_runnable_block_runs_as_pasted(block: Block, tmp_path: Path) -> None:
    programs = {shlex.split(line)[0] for line in commands(block.text)}
    missing = sorted(name for name in programs if shutil.which(name, path=environment(tmp_path)["PATH"]) is None)
    if missing:  # mkdocs comes with the dev extra; .ci/run builds the docs with it
        pytest.skip(f"{', '.join(missing)} not installed (pip install -e '.[dev]')")
    result = subprocess.run(["bash", "-e", "-c", block.text], cwd=ROOT, env=environment(tmp_path),
                            capture_output=True, text=True, timeout=150, check=False)  # fmt: skip
    assert result.returncode == 0, f"{block.where}\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}"


CLUSTER_PAGES = sorted({block.path for block in marked("cluster")})


@pytest.mark.parametrize("page", CLUSTER_PAGES, ids=lambda path: path.name)
def test_the_cluster_blocks_of_a_page_run_against_the_cluster_it_shows(page: Path, tmp_path: Path) -> None:
    page_blocks = [block for block in blocks(page) if block.runnable == "cluster"]
    starts = [block for block in page_blocks if commands(block.text)[0].startswith("sessionlab cluster")]
    assert len(starts) == 1 and len(commands(starts[0].text)) == 1, f"{page.name}: one `sessionlab cluster` block"
    balancer, added = free_ports(2)
    start = shlex.split(commands(starts[0].text)[0], comments=True)
    with spawn(*start[1:], "--port", str(balancer), env=environment(tmp_path)) as cluster:
        try:
            banner = read_banner(cluster)
            [export] = [
                line.split("#")[0].strip() for line in banner.splitlines() if line.strip().startswith("export ")
            ]
            for block in page_blocks:
                if block is not starts[0]:
                    _run_against_cluster(block, export, balancer, added, tmp_path)
            cluster.send_signal(signal.SIGTERM)
            cluster.communicate(timeout=30)
        finally:
            stop_tree(cluster)
    assert cluster.returncode == 0


def _run_against_cluster(block: Block, export: str, balancer: int, added: int, tmp_path: Path) -> None:
    """One block in one shell after the export line, on the test's ports; whatever it left running is stopped."""
    script = block.text.replace(f"127.0.0.1:{BALANCER_PORT}", f"127.0.0.1:{balancer}")
    script = script.replace(f"127.0.0.1:{ADDED_NODE_PORT}", f"127.0.0.1:{added}")
    script = script.replace(f"NODE_PORT={ADDED_NODE_PORT}", f"NODE_PORT={added}")
    shell = subprocess.Popen(
        ["bash", "-e", "-c", f"{export}\n{script}"], cwd=tmp_path, env=environment(tmp_path),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )  # fmt: skip
    try:
        stdout, stderr = shell.communicate(timeout=60)
    finally:
        _stop_group(shell.pid)
    assert shell.returncode == 0, f"{block.where}\n{stdout[-2000:]}\n{stderr[-2000:]}"
    for line in commands(block.text):
        wanted = [answer for call, answer in EXPECTED.items() if call in line and line.startswith("curl")]
        if wanted:
            assert wanted[-1] in stdout, f"{block.where}: {line!r} should answer {wanted[-1]}\n{stdout}"


def _stop_group(leader: int) -> None:
    """SIGTERM what the block started in the background (its process group, led by the shell we started)."""
    try:
        os.killpg(leader, signal.SIGTERM)
    except ProcessLookupError:
        return
    assert wait_until(lambda: not _group_alive(leader), 10.0)


def _group_alive(leader: int) -> bool:
    try:
        os.killpg(leader, 0)
    except ProcessLookupError:
        return False
    return True
