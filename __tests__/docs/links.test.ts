/**
 * Every relative link in the project's Markdown (README.md, CHANGELOG.md, lib/README.md and
 * docs/**\/*.md) leads somewhere: the file exists, and a `#fragment` names one of its headings as
 * GitHub makes their anchors (lower case, punctuation dropped, spaces to hyphens, a repeated
 * heading gets `-1`, `-2`…). Code blocks and inline code are skipped: what they hold is not a link.
 */

import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from '@jest/globals';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

function markdownFiles(): string[] {
  const files = ['README.md', 'CHANGELOG.md', 'lib/README.md'].filter((file) => existsSync(path.join(REPO, file)));
  const walk = (dir: string): void => {
    for (const entry of readdirSync(path.join(REPO, dir), { withFileTypes: true })) {
      const relative = `${dir}/${entry.name}`;
      if (entry.isDirectory()) walk(relative);
      else if (entry.name.endsWith('.md')) files.push(relative);
    }
  };
  if (existsSync(path.join(REPO, 'docs'))) walk('docs');
  return files.sort();
}

/** The Markdown without its fenced blocks and inline code, line count kept. */
function prose(markdown: string): string[] {
  let fence: string | undefined;
  return markdown.split(/\r?\n/).map((line) => {
    const marker = /^ {0,3}(`{3,}|~{3,})/.exec(line)?.[1];
    if (fence === undefined && marker !== undefined) {
      fence = marker;
      return '';
    }
    if (fence !== undefined) {
      if (marker !== undefined && marker[0] === fence[0] && marker.length >= fence.length) fence = undefined;
      return '';
    }
    return line.replace(/`[^`]*`/g, '');
  });
}

/** GitHub's heading anchors (github-slugger's rule). */
function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const line of prose(markdown.replace(/^( {0,3}#{1,6} .*)$/gm, (heading) => heading.replace(/`/g, '')))) {
    const heading = /^ {0,3}#{1,6} +(.*?)[ #]*$/.exec(line)?.[1];
    if (heading === undefined) continue;
    const text = heading.replace(/\[([^\]]*)\]\([^)]*\)/g, '$1');
    const slug = text
      .toLowerCase()
      .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
      .replace(/ /g, '-');
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    anchors.add(count === 0 ? slug : `${slug}-${count}`);
  }
  return anchors;
}

interface Link {
  line: number;
  target: string;
}

function linksOf(markdown: string): Link[] {
  const links: Link[] = [];
  for (const [index, line] of prose(markdown).entries()) {
    for (const match of line.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)|^\s*\[[^\]]+\]:\s*(\S+)/g)) {
      const target = match[1] ?? match[2];
      if (target !== undefined) links.push({ line: index + 1, target });
    }
  }
  return links;
}

function brokenLinks(file: string): string[] {
  const problems: string[] = [];
  for (const { line, target } of linksOf(readFileSync(path.join(REPO, file), 'utf8'))) {
    if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto:…: not ours to check
    const [pathPart = '', fragment] = target.split('#', 2);
    const resolved =
      pathPart === '' ? path.join(REPO, file) : path.resolve(path.dirname(path.join(REPO, file)), pathPart);
    if (!existsSync(resolved)) {
      problems.push(`${file}:${line}: ${target}: no such file`);
      continue;
    }
    if (fragment === undefined || !statSync(resolved).isFile() || !resolved.endsWith('.md')) continue;
    if (!anchorsOf(readFileSync(resolved, 'utf8')).has(decodeURIComponent(fragment))) {
      problems.push(`${file}:${line}: ${target}: no heading with the anchor #${fragment}`);
    }
  }
  return problems;
}

it('the anchors are GitHub’s', () => {
  expect([...anchorsOf('# A `code` heading\n## Single use, and replay\n## Errors\n## Errors\n')]).toEqual([
    'a-code-heading',
    'single-use-and-replay',
    'errors',
    'errors-1',
  ]);
});

it('a link to a missing file or heading is reported', () => {
  expect(brokenLinks('README.md')).toEqual([]); // the real one, below, is checked too
  expect(linksOf('see [x](docs/none.md#a) and `[y](z.md)`')).toEqual([{ line: 1, target: 'docs/none.md#a' }]);
});

describe.each(markdownFiles())('%s', (file) => {
  it('every relative link leads to a file and heading that exist', () => {
    expect(brokenLinks(file)).toEqual([]);
  });
});
