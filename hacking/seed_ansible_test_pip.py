"""Let ansible-test bootstrap pip in its virtual environments without reaching its download host.

ansible-test creates each virtual environment empty and installs pip into it by running a
``get-pip`` script that it downloads from a host this project's machines cannot reach; it
looks for a cached copy first (``~/.ansible/test/cache/get_pip_X_Y.py``).  This script puts
an equivalent there: it downloads the exact pip wheel ansible-test asks for from PyPI and
writes a small script that installs pip from that wheel.  On a machine that can reach the real
host the cache is harmless.

Run it with the Python of the environment that has ansible-core (and so ansible-test) installed.
"""
from __future__ import annotations

import glob
import os
import re
import subprocess
import sys

import ansible_test

GET_PIP = '''"""Install pip from a local wheel: a stand-in for get-pip.py (written by opswat.itot's hacking/seed_ansible_test_pip.py)."""
import sys

sys.path.insert(0, {wheel!r})

from pip._internal.cli.main import main  # noqa: E402

args = [arg for arg in sys.argv[1:] if arg not in ("--no-setuptools", "--no-wheel")]
sys.exit(main(["install", "--upgrade", "--force-reinstall"] + args))
'''


def wanted_pip_version() -> str:
    """The pip version that this ansible-test bootstraps into its virtual environments."""
    source = os.path.join(os.path.dirname(ansible_test.__file__), '_internal', 'python_requirements.py')
    with open(source, encoding='utf-8') as handle:
        match = re.search(r"\bpip='([0-9.]+)'", handle.read())
    if not match:
        sys.exit(f'cannot find the pip version in {source}')
    return match.group(1)


def main() -> None:
    version = wanted_pip_version()
    cache = os.path.expanduser('~/.ansible/test/cache')
    script = os.path.join(cache, 'get_pip_%s.py' % version.replace('.', '_'))
    os.makedirs(cache, exist_ok=True)
    wheels = glob.glob(os.path.join(cache, f'pip-{version}-*.whl'))
    if not wheels:
        subprocess.run([sys.executable, '-m', 'pip', 'download', '--quiet', '--no-deps', '--only-binary=:all:',
                        '--dest', cache, f'pip=={version}'], check=True)
        wheels = glob.glob(os.path.join(cache, f'pip-{version}-*.whl'))
    if not wheels:
        sys.exit(f'pip {version} wheel not found after download in {cache}')
    content = GET_PIP.format(wheel=wheels[0])
    current = None
    if os.path.exists(script):
        with open(script, encoding='utf-8') as handle:
            current = handle.read()
    if current != content:
        with open(script + '.tmp', 'w', encoding='utf-8') as handle:
            handle.write(content)
        os.replace(script + '.tmp', script)
    print(f'ansible-test pip {version} bootstrap: {script}')


if __name__ == '__main__':
    main()
