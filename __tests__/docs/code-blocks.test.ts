/**
 * Every TypeScript and JavaScript block in README.md and docs/**\/*.md compiles, as a user's code
 * would: each block is its own module in a temp dir inside the repository, so
 * `import … from 'pkce-token-router'` (and `'pkce-token-router/testing'`) resolves by the
 * package's own name to the built dist/ (Node's package self-reference; `npm test` builds first),
 * never to lib/. One TypeScript program checks them all: strict, module and moduleResolution
 * nodenext, skipLibCheck.
 *
 * A block preceded by the line `<!-- run -->` (blank lines between allowed) is a complete
 * program: it is also compiled to JavaScript and run with node, and must exit 0 within
 * RUN_TIMEOUT_MS.
 *
 * Blocks tagged `ts`, `typescript`, `mts`, `js`, `javascript` or `mjs` are checked; tag anything else
 * `text`, `sh`, `json`, `http`… A fragment must compile on its own: declare what it uses
 * (`declare const app: import('express').Express;`).
 *
 * The same program also reads `TokenRouterOptions` from the built package, so the README's
 * options table is checked to list exactly its options.
 */

import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import ts from 'typescript';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const RUN_MARKER = '<!-- run -->';
const RUN_TIMEOUT_MS = 30_000;
const TS_TAGS = new Set(['ts', 'typescript', 'mts']);
const JS_TAGS = new Set(['js', 'javascript', 'mjs']);

interface Block {
  /** The markdown file, relative to the repository. */
  file: string;
  /** 1-based line of the opening fence. */
  line: number;
  lang: 'ts' | 'js';
  code: string;
  runnable: boolean;
}

/** The markdown files whose blocks are checked: README.md and every .md under docs/, as they are now. */
function markdownFiles(): string[] {
  const files = existsSync(path.join(REPO, 'README.md')) ? ['README.md'] : [];
  const walk = (dir: string): void => {
    if (!existsSync(path.join(REPO, dir))) return;
    for (const entry of readdirSync(path.join(REPO, dir), { withFileTypes: true }).sort((a, b) =>
      a.name.localeCompare(b.name),
    )) {
      const relative = `${dir}/${entry.name}`;
      if (entry.isDirectory()) walk(relative);
      else if (entry.name.endsWith('.md')) files.push(relative);
    }
  };
  walk('docs');
  return files;
}

/** The fenced code blocks of a CommonMark document (``` or ~~~ fences, up to 3 spaces of indent). */
function extractBlocks(file: string, markdown: string): Block[] {
  const lines = markdown.split(/\r?\n/);
  const blocks: Block[] = [];
  let open: { fence: string; indent: number; tag: string; line: number; body: string[]; runnable: boolean } | undefined;
  let lastNonBlank = '';
  for (const [index, text] of lines.entries()) {
    if (open === undefined) {
      const opening = /^( {0,3})(`{3,}|~{3,})\s*([^\s`{]*)/.exec(text);
      if (opening !== null) {
        const [, indent = '', fence = '', info = ''] = opening;
        const runnable = lastNonBlank.trim() === RUN_MARKER;
        open = { fence, indent: indent.length, tag: info.toLowerCase(), line: index + 1, body: [], runnable };
      } else if (text.trim() !== '') {
        lastNonBlank = text;
      }
      continue;
    }
    const closing = /^ {0,3}(`{3,}|~{3,})\s*$/.exec(text);
    if (closing?.[1] !== undefined && closing[1][0] === open.fence[0] && closing[1].length >= open.fence.length) {
      const lang = TS_TAGS.has(open.tag) ? 'ts' : JS_TAGS.has(open.tag) ? 'js' : undefined;
      if (lang !== undefined) {
        blocks.push({ file, line: open.line, lang, code: open.body.join('\n'), runnable: open.runnable });
      }
      open = undefined;
      lastNonBlank = text;
      continue;
    }
    // CommonMark: up to the fence's own indent is removed from each content line.
    const strip = Math.min(open.indent, /^ */.exec(text)?.[0].length ?? 0);
    open.body.push(text.slice(strip));
  }
  return blocks;
}

const blocksByFile = new Map(
  markdownFiles().map((file) => [file, extractBlocks(file, readFileSync(path.join(REPO, file), 'utf8'))] as const),
);

/** The block written on purpose with a type error: proves the checker reports one. */
const SELF_CHECK = 'const answer: number = "forty-two";\nexport { answer };\n';

const tempDir = path.join(REPO, `.code-blocks-${process.pid}-${Date.now().toString(36)}`);
const srcDir = path.join(tempDir, 'src');
const outDir = path.join(tempDir, 'out');
/** Source file name (absolute) → its block. */
const sources = new Map<string, Block>();
/** Block → the problems tsc found in it, as `file.md:line: TSnnnn message`. */
const problems = new Map<Block, string[]>();
const selfCheckProblems: string[] = [];
let selfCheckFile = '';
/** The property names of `TokenRouterOptions`, as the built package declares them. */
let routerOptionNames: string[] = [];
/** Block → the emitted JavaScript to run. */
const emitted = new Map<Block, string>();

function sourceName(block: Block, ordinal: number): string {
  const slug = block.file.replace(/[^A-Za-z0-9]+/g, '_');
  return path.join(srcDir, `${slug}-L${block.line}-${ordinal}.${block.lang === 'ts' ? 'ts' : 'js'}`);
}

function compilerOptions(): ts.CompilerOptions {
  return {
    strict: true,
    target: ts.ScriptTarget.ES2022,
    lib: ['lib.es2023.d.ts'],
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    moduleDetection: ts.ModuleDetectionKind.Force,
    esModuleInterop: true,
    skipLibCheck: true,
    allowJs: true,
    checkJs: true,
    types: ['node'],
    rootDir: srcDir,
    outDir,
    noEmitOnError: false,
    sourceMap: false,
    declaration: false,
  };
}

function describeDiagnostic(diagnostic: ts.Diagnostic): { fileName: string | undefined; text: string } {
  const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n');
  if (diagnostic.file === undefined || diagnostic.start === undefined) {
    return { fileName: undefined, text: `TS${diagnostic.code}: ${message}` };
  }
  const { line, character } = diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start);
  const fileName = path.resolve(diagnostic.file.fileName);
  const block = sources.get(fileName);
  const where =
    block === undefined ? `${fileName}:${line + 1}` : `${block.file}:${block.line + 1 + line}:${character + 1}`;
  return { fileName, text: `${where}: TS${diagnostic.code}: ${message}` };
}

/** The type entry points package.json exports: what a block's imports resolve to. */
function builtTypes(): string[] {
  const manifest = JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8')) as {
    exports?: Record<string, unknown>;
  };
  return Object.values(manifest.exports ?? {}).flatMap((target) =>
    typeof target === 'object' && target !== null && typeof (target as { types?: unknown }).types === 'string'
      ? [(target as { types: string }).types]
      : [],
  );
}

beforeAll(() => {
  const missing = builtTypes().filter((file) => !existsSync(path.join(REPO, file)));
  if (missing.length > 0) {
    throw new Error(
      `${missing.join(', ')} missing: the blocks import the built package. Run \`npm run build\` first (\`npm test\` does).`,
    );
  }
  mkdirSync(srcDir, { recursive: true });
  let ordinal = 0;
  for (const blocks of blocksByFile.values()) {
    for (const block of blocks) {
      const name = sourceName(block, ordinal++);
      writeFileSync(name, `${block.code}\n`);
      sources.set(name, block);
      problems.set(block, []);
    }
  }
  selfCheckFile = path.join(srcDir, `self-check-${ordinal}.ts`);
  writeFileSync(selfCheckFile, SELF_CHECK);

  const optionsProbe = path.join(srcDir, `options-probe-${ordinal}.ts`);
  writeFileSync(
    optionsProbe,
    "import type { TokenRouterOptions } from 'pkce-token-router';\nexport type Probe = TokenRouterOptions;\n",
  );

  const program = ts.createProgram([...sources.keys(), selfCheckFile, optionsProbe], compilerOptions());
  const probe = program.getSourceFile(optionsProbe)?.statements.find(ts.isTypeAliasDeclaration);
  if (probe !== undefined) {
    const checker = program.getTypeChecker();
    routerOptionNames = checker.getPropertiesOfType(checker.getTypeAtLocation(probe.type)).map((symbol) => symbol.name);
  }
  const global: string[] = [];
  for (const diagnostic of ts.getPreEmitDiagnostics(program)) {
    const { fileName, text } = describeDiagnostic(diagnostic);
    const block = fileName === undefined ? undefined : sources.get(fileName);
    if (block !== undefined) problems.get(block)?.push(text);
    else if (fileName === selfCheckFile) selfCheckProblems.push(text);
    else global.push(text);
  }
  if (global.length > 0) throw new Error(`The compiler setup itself failed:\n${global.join('\n')}`);

  for (const [name, block] of sources) {
    if (!block.runnable) continue;
    const sourceFile = program.getSourceFile(name);
    if (sourceFile === undefined) continue;
    program.emit(sourceFile, (fileName, text) => {
      if (!fileName.endsWith('.js')) return;
      mkdirSync(path.dirname(fileName), { recursive: true });
      writeFileSync(fileName, text);
      emitted.set(block, fileName);
    });
  }
}, 120_000);

afterAll(() => {
  rmSync(tempDir, { recursive: true, force: true });
});

it('the checker reports a type error in a block (self-check)', () => {
  expect(selfCheckProblems.join('\n')).toMatch(/TS2322/);
});

it('README.md has TypeScript blocks to check', () => {
  expect(blocksByFile.get('README.md')?.length ?? 0).toBeGreaterThan(0);
});

it("README.md's options table lists every option of createTokenRouter, and no other", () => {
  const readme = readFileSync(path.join(REPO, 'README.md'), 'utf8');
  const section = /^## Options\n([\s\S]*?)(?=^## )/m.exec(readme)?.[1] ?? '';
  const listed = [...section.matchAll(/^\| `([A-Za-z]+)` \|/gm)].map((match) => match[1]);
  expect(routerOptionNames.length).toBeGreaterThan(0);
  expect([...listed].sort()).toEqual([...routerOptionNames].sort());
});

describe.each([...blocksByFile.keys()])('%s', (file) => {
  const blocks = blocksByFile.get(file) ?? [];
  const counts = `${blocks.length} block${blocks.length === 1 ? '' : 's'}, ${blocks.filter((block) => block.runnable).length} runnable`;

  it(`every ts/js block compiles (${counts})`, () => {
    const found = blocks.flatMap((block) => problems.get(block) ?? []);
    expect(found).toEqual([]);
  });

  const runnable = blocks.filter((block) => block.runnable);
  if (runnable.length > 0) {
    it.each(runnable.map((block) => [`${file}:${block.line}`, block] as const))(
      '%s runs with node and exits 0',
      async (_where, block) => {
        expect(problems.get(block)).toEqual([]);
        const script = emitted.get(block);
        if (script === undefined) throw new Error(`nothing was emitted for ${file}:${block.line}`);
        const result = await runNode(script);
        expect({ where: `${file}:${block.line}`, ...result }).toEqual(
          expect.objectContaining({ code: 0, signal: null }),
        );
      },
      RUN_TIMEOUT_MS + 10_000,
    );
  }
});

function runNode(script: string): Promise<{ code: number | null; signal: NodeJS.Signals | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => {
      output += `\n[killed after ${RUN_TIMEOUT_MS} ms]`;
      child.kill('SIGKILL');
    }, RUN_TIMEOUT_MS);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, output });
    });
  });
}
