# Copyright: Contributors to the opswat.itot collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The category folder's lock: ``flock`` on ``{category}/.lock``, never through a link, never blocking on a FIFO.

For internal collection use only.
"""

from __future__ import annotations

import errno
import fcntl
import os
import time
from typing import Any

from ansible_collections.opswat.itot.plugins.module_utils._archive_fs import lexists_in, open_file
from ansible_collections.opswat.itot.plugins.module_utils._archive_names import LOCK
from ansible_collections.opswat.itot.plugins.module_utils._errors import ArchiveError


class ArchiveLock:
    """``flock`` on ``{category}/.lock``: exclusive for writers, shared for readers.

    A shared lock on a folder without a lock file is a no-op: nobody has written there yet.
    """

    def __init__(self, cat_dir: str, exclusive: bool, timeout: float) -> None:
        self.cat_dir = cat_dir
        self.path = os.path.join(cat_dir, LOCK)
        self.exclusive = exclusive
        self.timeout = timeout
        self.fd: int | None = None
        self.changed = False

    def __enter__(self) -> ArchiveLock:
        # No link is followed and a FIFO does not block the open: both are refused before lock_timeout starts.
        if self.exclusive:
            existed = lexists_in(self.cat_dir, LOCK)
            self.fd = open_file(self.cat_dir, LOCK, os.O_RDWR | os.O_CREAT)
            self.changed = not existed
        else:
            try:
                self.fd = open_file(self.cat_dir, LOCK, os.O_RDONLY)
            except OSError as exc:
                if exc.errno == errno.ENOENT:
                    return self
                raise
        self._wait()
        return self

    def _wait(self) -> None:
        operation = fcntl.LOCK_EX if self.exclusive else fcntl.LOCK_SH
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                fcntl.flock(self.fd, operation | fcntl.LOCK_NB)
                return
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                    self._close()
                    raise
            if time.monotonic() >= deadline:
                self._close()
                raise ArchiveError('timed out after %ss waiting for the lock %s (another run is writing this archive)'
                                   % (self.timeout, self.path))
            time.sleep(0.05)

    def _close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)  # closing the descriptor releases the flock
            self.fd = None

    def __exit__(self, *exc_info: Any) -> None:
        self._close()
