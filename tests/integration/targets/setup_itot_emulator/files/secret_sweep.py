"""Search every file below some folders for test secrets; the integration targets' secret sweep.

    python secret_sweep.py --secret S [--secret S ...] [--pattern REGEX ...] [--require FILE ...]
                           [--require-dir DIR ...] [--min-files N] DIR [DIR ...]

Every regular file is searched in its raw bytes and, when it is gzip, decompressed too; a gzip file that does not
decompress to its end (a truncated .tmp-* left by a killed write, say) is searched in its raw bytes and in whatever
part of it decompresses.  A file that cannot be read, a --require'd file that was not searched, a --require-dir that
does not exist, or fewer than --min-files files searched fail the sweep: a sweep that searched nothing proves
nothing.  Prints one line per leak (the secret replaced) and a summary; exit 1 on any leak or failure.
"""
from __future__ import annotations

import argparse
import os
import re
import stat
import sys
import zlib


def gunzip(data: bytes) -> tuple[bytes, bool]:
    """(what decompresses, whether all of it did), through every gzip member."""
    out = []
    complete = True
    while data[:2] == b'\x1f\x8b':
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            out.append(inflater.decompress(data))
            out.append(inflater.flush())
        except zlib.error:
            complete = False
            break
        if not inflater.eof:
            complete = False
            break
        data = inflater.unused_data
    return b''.join(out), complete and not data.strip(b'\0')


class Sweep:
    """The search of a sweep's files, and what it found so far."""

    def __init__(self, secrets: list[bytes], patterns: list[re.Pattern[bytes]]) -> None:
        self.secrets, self.patterns = secrets, patterns
        self.searched: set[str] = set()
        self.unreadable: list[str] = []
        self.truncated: list[str] = []
        self.missing_dirs: list[str] = []
        self.other = self.gz = self.found = 0

    def folder(self, top: str) -> None:
        """Search every file below ``top``."""
        if not os.path.isdir(top):
            self.missing_dirs.append(top)
            return
        for base, _dirs, names in os.walk(top):
            for name in names:
                self.file(os.path.join(base, name))

    def file(self, path: str) -> None:
        """Search one file: its raw bytes and, for gzip, what decompresses."""
        try:
            info = os.lstat(path)
        except OSError:
            return  # removed while we walked
        if not stat.S_ISREG(info.st_mode):
            self.other += 1  # symbolic links, sockets, fifos: nothing written through them stays there
            return
        try:
            with open(path, 'rb') as handle:
                raw = handle.read()
        except OSError as exc:
            self.unreadable.append('%s (%s)' % (path, exc.strerror))
            return
        blobs = [raw]
        if raw[:2] == b'\x1f\x8b':
            self.gz += 1
            text, complete = gunzip(raw)
            blobs.append(text)
            if not complete:
                self.truncated.append(path)
        self.searched.add(os.path.realpath(path))
        self.lines(path, b'\n'.join(blobs))

    def lines(self, path: str, data: bytes) -> None:
        """Print every line of ``data`` that holds a secret (replaced) or matches a pattern."""
        for line in data.splitlines():
            if any(secret in line for secret in self.secrets) or any(p.search(line) for p in self.patterns):
                self.found += 1
                for secret in self.secrets:
                    line = line.replace(secret, b'<TEST SECRET>')
                print('LEAK in %s: %s' % (path, line[:200].decode('utf-8', 'replace')))


def problems_of(args: argparse.Namespace, sweep: Sweep) -> list[str]:
    """What makes the sweep fail besides a leak: unreadable files, missing folders, required files not searched, too few files."""
    problems = ['cannot read %s: not searched' % path for path in sweep.unreadable]
    problems += ['no folder %s to search' % path for path in sweep.missing_dirs]
    problems += ['%s exists but was not searched' % path if os.path.exists(path) else '%s does not exist' % path
                 for path in args.require if os.path.realpath(path) not in sweep.searched]
    problems += ['folder %s does not exist (was the setting that puts it there ignored?)' % path
                 for path in args.require_dir if not os.path.isdir(path)]
    if len(sweep.searched) < args.min_files:
        problems.append('only %d files searched, at least %d expected' % (len(sweep.searched), args.min_files))
    return problems


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument('--secret', action='append', default=[], required=True)
    parser.add_argument('--pattern', action='append', default=[], help='a regular expression that must not occur')
    parser.add_argument('--require', action='append', default=[], help='a file that must be among those searched')
    parser.add_argument('--require-dir', action='append', default=[], help='a folder that must exist')
    parser.add_argument('--min-files', type=int, default=1)
    parser.add_argument('dirs', nargs='+')
    args = parser.parse_args()
    secrets = [s.encode() for s in args.secret if s]
    if not secrets:
        print('secret sweep: FAILED: no secret to search for')
        return 1
    sweep = Sweep(secrets, [re.compile(p.encode()) for p in args.pattern])
    for top in args.dirs:
        sweep.folder(top)
    problems = problems_of(args, sweep)
    for problem in problems:
        print('secret sweep: FAILED: ' + problem)
    print('secret sweep: %d files searched (%d gzip, %d of them truncated: raw bytes and the part that decompressed '
          'searched; %d links or special files passed over), %d occurrence(s) of the test secrets'
          % (len(sweep.searched), sweep.gz, len(sweep.truncated), sweep.other, sweep.found))
    return 1 if sweep.found or problems else 0


if __name__ == '__main__':
    sys.exit(main())
