#!/usr/bin/env bash
# Builds the collection's documentation site with antsibull-docs and Sphinx: the plugin, role and filter pages plus
# the user guide of docs/docsite/ (extra-docs.yml, links.yml, rst/).
#
#   bash hacking/docsite.sh          -> .build/docsite/html/index.html
#
# 1. .venv: the pinned test tools (hacking/venv.sh: ansible-core, antsibull-docs, Sphinx), plus the docs-only tools
#    of tests/requirements-docs.txt (the Ansible Sphinx theme), installed when missing or when that file changed.
# 2. The collection is built and installed into .build/docsite/collections, which ANSIBLE_COLLECTIONS_PATH points
#    at: antsibull-docs documents the installed copy, as users get it.
# 3. `antsibull-docs lint-collection-docs --plugin-docs --check-extra-docs-refs .` must be clean (the user guide's
#    RST, and every plugin, option and return value it refers to).
# 4. `antsibull-docs sphinx-init --use-current --fail-on-error` writes the Sphinx project; its build.sh runs
#    `antsibull-docs collection --fail-on-error` and `sphinx-build -W --keep-going`, so any antsibull-docs error and
#    any Sphinx warning fails the build (non-zero exit).
# Only PyPI is needed: the generated conf.py's intersphinx inventories (docs.python.org, docs.ansible.com) are
# dropped, so the build never goes to the network; links to other collections' plugins are plain URLs.
set -eu -o pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
venv="$root/.venv"
out="$root/.build/docsite"
collections="$out/collections"
started=$(date +%s)

echo "==> .venv (tests/requirements-tools.txt, tests/requirements-docs.txt)"
bash hacking/venv.sh
stamp="$venv/.requirements-docs.sha256"
want=$(cat tests/requirements-docs.txt tests/constraints-tools.txt | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" = "$want" ] && "$venv/bin/python" -c 'import sphinx_ansible_theme' 2>/dev/null; then
  echo "docs tools present"
else
  echo "installing the docs tools of tests/requirements-docs.txt"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r tests/requirements-docs.txt
  echo "$want" >"$stamp"
fi
export PATH="$venv/bin:$PATH"

echo "==> building and installing the collection"
rm -rf "$out"
mkdir -p "$out"
bash hacking/install-collection.sh "$collections"
export ANSIBLE_COLLECTIONS_PATH="$collections"

echo "==> antsibull-docs lint-collection-docs --plugin-docs --check-extra-docs-refs ."
# What `make docs` runs, plus a check of every plugin, option and return value the user guide refers to.
antsibull-docs lint-collection-docs --plugin-docs --check-extra-docs-refs .

echo "==> antsibull-docs sphinx-init"
cat >"$out/index.rst" <<'EOF'
.. _docsite_root_index:

opswat.itot - OPSWAT MetaDefender IT-OT Access logs for Ansible
===============================================================

Read the event logs of OPSWAT MetaDefender IT-OT Access (Get Logs API v3.3) from Ansible: an info module, a lookup,
an archive role with a hash-chained manifest, and an audit playbook.

Start with the user guide, :ref:`ansible_collections.opswat.itot.docsite.guide_getting_started`; the collection's
page lists the guide and every plugin and role.

.. toctree::
   :maxdepth: 2
   :caption: Collections:

   collections/index

.. toctree::
   :maxdepth: 1
   :caption: Plugin indexes:
   :glob:

   collections/index_*

.. toctree::
   :maxdepth: 1
   :caption: Reference indexes:

   collections/environment_variables
EOF
mkdir -p "$out/site"
chmod og-w "$out/site"  # antsibull-docs wants its folders writable by their owner only
if ! antsibull-docs sphinx-init --use-current --fail-on-error --dest-dir "$out/site" \
  --index-rst-source "$out/index.rst" --project opswat.itot --copyright 'Contributors to the opswat.itot collection' \
  --title 'opswat.itot documentation' --html-short-title opswat.itot opswat.itot >"$out/sphinx-init.log" 2>&1; then
  cat "$out/sphinx-init.log"
  echo "FAILED: antsibull-docs sphinx-init" >&2
  exit 1
fi
# No network but PyPI: no intersphinx inventories (Sphinx would warn that it cannot fetch them). The few labels of
# Ansible's own documentation that the generated pages refer to become plain links; any other unresolved reference
# still warns, and so fails the build.
cat >>"$out/site/conf.py" <<'EOF'

# --- added by hacking/docsite.sh: the build must not depend on hosts other than PyPI --------------------------------
import re as _re

from docutils import nodes as _nodes

intersphinx_mapping = {}

_ANSIBLE_DOCS = 'https://docs.ansible.com/projects/ansible/devel/'
_ANSIBLE_LABELS = {
    'action_plugins': 'plugins/action.html',
    'ansible_configuration_settings': 'reference_appendices/config.html',
    'common_return_values': 'reference_appendices/common_return_values.html',
}
_BUILTIN_PLUGIN = _re.compile(r'^ansible_collections\.ansible\.builtin\.([a-z0-9_]+_(?:module|lookup|filter|test))$')


def _ansible_docs_link(app, env, node, contnode):
    """A link into Ansible's documentation for the labels above and ansible.builtin plugin pages; None otherwise."""
    if node.get('refdomain') != 'std' or node.get('reftype') != 'ref':
        return None
    target = node.get('reftarget', '')
    page = _ANSIBLE_LABELS.get(target)
    match = _BUILTIN_PLUGIN.match(target)
    if page is None and match:
        page = 'collections/ansible/builtin/%s.html' % match.group(1)
    if page is None:
        return None
    return _nodes.reference('', '', contnode, refuri=_ANSIBLE_DOCS + page, internal=False)


def setup(app):
    app.connect('missing-reference', _ansible_docs_link)
EOF

echo "==> build.sh (antsibull-docs collection, sphinx-build -W --keep-going)"
log="$out/build.log"
if ! bash "$out/site/build.sh" >"$log" 2>&1; then
  cat "$log"
  echo "FAILED: the documentation site did not build (log: $log)" >&2
  exit 1
fi
# antsibull-docs reports some problems without failing; Sphinx -W turns warnings into a failure already.
if grep -E -i '(^|[^a-z])(warning|error)[: ]' "$log" | grep -v -E '^(Running Sphinx|build succeeded)'; then
  echo "FAILED: warnings or errors in the build log ($log)" >&2
  exit 1
fi
mv "$out/site/build/html" "$out/html"
echo "site: $out/html/index.html ($(($(date +%s) - started)) s)"
