# Copyright: Contributors to the opswat.itot collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Reading the HTML report the way a strict reader would, for the tests: two parsers that must agree, and the figures.

The page is meant to be XHTML-compatible HTML: every element closed (``<x/>`` for empty ones), every attribute
quoted, no entity but XML's five and numeric ones.  So it is read twice:

- by ``xml.etree`` (expat): any unbalanced, unclosed or misnested tag, unquoted attribute or stray ``&`` fails;
- by ``html.parser`` (how a browser tokenises HTML), with a stack that requires every start tag (but the HTML void
  elements) to be closed by the matching end tag, in order.

Both must see the same elements in the same order: then a name smuggled into the page cannot be read as markup by
one and as text by the other.  The HTML parser's view is also the one the safety checks run on (no script, no
event handler, no reference to anything outside the page).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

VOID = {'area', 'base', 'br', 'col', 'embed', 'hr', 'img', 'input', 'link', 'meta', 'source', 'track', 'wbr'}
FORBIDDEN_TAGS = {'script', 'iframe', 'frame', 'object', 'embed', 'link', 'img', 'image', 'use', 'foreignobject', 'audio', 'video',
                  'source', 'base', 'form', 'input', 'meta-refresh'}


class StrictHTML(HTMLParser):
    """Start tags, attributes and text as an HTML tokeniser sees them; fails on an unbalanced tag."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str, str | None]] = []
        self.text: list[str] = []
        self.declarations: list[str] = []

    def _start(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attrs.extend((tag, name, value) for name, value in attrs)

    def handle_starttag(self, tag, attrs):
        self._start(tag, attrs)
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self._start(tag, attrs)

    def handle_endtag(self, tag):
        assert self.stack and self.stack[-1] == tag, 'end tag </%s> does not close the open %r' % (tag, self.stack[-1:])
        self.stack.pop()

    def handle_data(self, data):
        self.text.append(data)

    def handle_decl(self, decl):
        self.declarations.append(decl)

    def handle_pi(self, data):
        raise AssertionError('processing instruction in the page: %r' % data)

    def unknown_decl(self, data):
        raise AssertionError('unknown declaration in the page: %r' % data)


def read(page: str) -> ET.Element:
    """The page's tree (xml.etree), after both parsers agreed on it and the safety checks passed."""
    root = ET.fromstring(page)
    strict = StrictHTML()
    strict.feed(page)
    strict.close()
    assert strict.stack == [], 'unclosed elements: %r' % strict.stack
    assert strict.declarations == ['DOCTYPE html']
    assert strict.tags == [element.tag.lower() for element in root.iter()], 'the HTML and XML parsers disagree about the elements'
    check_safe(page, strict)
    return root


def check_safe(page: str, strict: StrictHTML) -> None:
    """No script, no event handler, nothing fetched from outside the page."""
    assert '<script' not in page.lower()
    assert not FORBIDDEN_TAGS & set(strict.tags), FORBIDDEN_TAGS & set(strict.tags)
    for tag, name, value in strict.attrs:
        assert not name.startswith('on'), (tag, name, value)
        assert name not in ('src', 'srcset', 'xlink:href', 'action', 'formaction', 'background', 'poster', 'style'), (tag, name)
        if name == 'href':
            assert value and value.startswith('#'), (tag, name, value)  # a link inside the page only
        if not name.startswith('data-') and name != 'aria-label':  # those hold text (the entries' names) that nothing loads
            assert not re.search(r'(?i)(https?:|//|javascript:|data:)', value or ''), (tag, name, value)
    css = ''.join(re.findall(r'(?s)<style>(.*?)</style>', page))
    assert '@import' not in css and 'url(' not in css and '@font-face' not in css


def by_id(root: ET.Element, element_id: str) -> ET.Element:
    found = [element for element in root.iter() if element.get('id') == element_id]
    assert len(found) == 1, (element_id, len(found))
    return found[0]


def text_of(element: ET.Element) -> str:
    return ''.join(element.itertext())


def body_rows(table: ET.Element) -> list[ET.Element]:
    return table.find('tbody').findall('tr')


def cells(row: ET.Element) -> list[str]:
    return [text_of(cell) for cell in row if cell.tag in ('td', 'th')]


def numbers(row: ET.Element) -> list[int]:
    return [int(text_of(cell)) for cell in row if cell.tag == 'td' and 'num' in (cell.get('class') or '').split()]


def shown(value) -> str:
    """How the page shows a value of the JSON in a table cell."""
    if value is None or value == '':
        return '-'
    if value is True:
        return 'yes'
    if value is False:
        return 'no'
    return str(value)


def check_figures(root: ET.Element, prefix: str, part: dict) -> None:
    """Every figure of the section ``prefix`` is the JSON's (``part``: the report dict, or a tenant's)."""
    summary = dict(part['summary'], entries_total=part['entries_total'], webhook_noncompliant_events=part['webhook_noncompliant_events'])
    rows = body_rows(by_id(root, prefix + '-summary'))
    assert dict((row.get('data-key'), numbers(row)[0]) for row in rows) == summary

    per_day = part['entries_per_day']
    days = sorted(set(day for counts in per_day.values() for day in counts))
    if days:
        rows = body_rows(by_id(root, prefix + '-per-day'))
        assert [row.get('data-day') for row in rows] == days
        for row in rows:
            found = dict((cell.get('data-category'), int(text_of(cell))) for cell in row if cell.get('data-category') is not None)
            assert found == dict((category, per_day[category].get(row.get('data-day'), 0)) for category in per_day)
    section = by_id(root, prefix)
    bars = dict(((rect.get('data-category'), rect.get('data-day')), int(rect.get('data-value')))
                for rect in section.iter('rect') if rect.get('data-day') is not None)
    assert bars == dict(((category, day), number) for category, counts in per_day.items() for day, number in counts.items())

    rows = body_rows(by_id(root, prefix + '-counts'))
    assert [(row.get('data-category'), row.get('data-event'), numbers(row)[0]) for row in rows] == [
        item for category, count in part['counts'].items()
        for item in [(category, None, count['total'])] + [(category, event, n) for event, n in count['events'].items()]]

    _check_table(root, prefix + '-failed-auth', part['failed_auth'], ['admin_name', 'admin_email', 'count', 'first', 'last'])
    _check_table(root, prefix + '-noncompliant', part['noncompliant_devices'],
                 ['device_id', 'device_name', 'first_noncompliant', 'noncompliant_events', 'back_to_compliant', 'compliant_at'])
    _check_table(root, prefix + '-deleted-user', part['deleted_user_devices'], ['device_id', 'device_name', 'device_username', 'time'])
    errors = part['webhook_errors']
    _check_table(root, prefix + '-webhook-codes', [{'code': code, 'n': n} for code, n in errors['by_code'].items()], ['code', 'n'])
    if errors['events']:
        _check_table(root, prefix + '-webhook-errors', errors['events'], ['time', 'device_id', 'device_name', 'event', 'code'])
    heads = [dict(head, category=category, **part['verification'][category]) for category, head in part['heads'].items()]
    _check_table(root, prefix + '-heads', heads, ['category', 'lines', 'sha256', 'chain', 'files_checked', 'known_head'])

    # The charts: one bar per admin (most first) and per device, green when it came back to compliant.
    charts = [rect for rect in section.iter('rect') if rect.get('data-label') is not None]
    admins = [rect for rect in charts if rect.get('class') == 'warn']
    assert [int(rect.get('data-value')) for rect in admins] == [item['count'] for item in part['failed_auth']][:30]
    devices = [rect for rect in charts if rect.get('class') in ('good', 'bad')]
    assert [(int(rect.get('data-value')), rect.get('class') == 'good') for rect in devices] == [
        (item['noncompliant_events'], item['back_to_compliant']) for item in part['noncompliant_devices']][:30]


def _check_table(root: ET.Element, table_id: str, items: list, keys: list) -> None:
    """The table's rows show the items' values, in order (an empty list: a note in place of the table)."""
    element = by_id(root, table_id)
    if not items:
        assert element.tag == 'p'
        return
    assert [cells(row) for row in body_rows(element)] == [[shown(item[key]) for key in keys] for item in items], table_id
