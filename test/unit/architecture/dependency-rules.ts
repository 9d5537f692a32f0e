// The layout's dependency rules (docs/architecture.md) as data plus a checker over import specifiers.
// Kept beside its test so the rules are read in one place; the test runs it on the real tree and on a bad one.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';

export interface Violation {
  readonly file: string;
  readonly specifier: string;
  readonly rule: string;
}

const SOURCE_DIRS = [
  'shared',
  'functions',
  'trainer-image/src',
  'infra',
  'cli',
  'bench',
  'scripts',
  'models',
  'console',
];
const IMPORT_PATTERN =
  /(?:^|[\s;])(?:import|export)\s+(?:type\s+)?(?:[^'"`;]*?\s+from\s+)?['"]([^'"]+)['"]|(?:import|require)\(\s*['"]([^'"]+)['"]\s*\)/gm;

export function importSpecifiers(source: string): string[] {
  const found: string[] = [];
  for (const match of source.matchAll(IMPORT_PATTERN)) {
    const specifier = match[1] ?? match[2];
    if (specifier) found.push(specifier);
  }
  return found;
}

const SKIP_DIRS = new Set(['node_modules', 'cdk.out', 'out', 'coverage']);

/** Source files below `dir` whose names match `pattern` (no .d.ts; dependencies, builds and dot-folders skipped). */
export function listSourceFiles(dir: string, pattern = /\.(ts|js|mjs)$/): string[] {
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return [];
  }
  return entries.flatMap((name) => {
    if (SKIP_DIRS.has(name) || name.startsWith('.')) return [];
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return listSourceFiles(path, pattern);
    return pattern.test(name) && !name.endsWith('.d.ts') ? [path] : [];
  });
}

/** Which top-level area a repo-relative path is in, e.g. 'trainer-image/src/autodiff' or 'functions'. */
function area(repoPath: string): string {
  const parts = repoPath.split(sep);
  if (parts[0] === 'trainer-image' && parts[1] === 'src' && parts[2] && !parts[2].endsWith('.ts')) {
    return `trainer-image/src/${parts[2]}`;
  }
  if (parts[0] === 'infra' && parts[1] === 'embedded') return 'infra/embedded';
  return parts[0] ?? '';
}

function top(repoPath: string): string {
  return repoPath.split(sep)[0] ?? '';
}

/** Returns the rule a single import breaks, or undefined when it is allowed. */
export function checkImport(
  fromRepoPath: string,
  specifier: string,
  targetRepoPath?: string,
): string | undefined {
  const from = area(fromRepoPath);
  const fromTop = top(fromRepoPath);
  if (targetRepoPath === undefined) {
    const pkg = specifier.startsWith('@')
      ? specifier.split('/').slice(0, 2).join('/')
      : specifier.split('/')[0];
    if (fromTop === 'shared') {
      if (pkg === 'aws-cdk-lib' || pkg === 'constructs' || pkg === 'onnxruntime-node') {
        return `shared/ never imports ${pkg}`;
      }
      if (pkg?.startsWith('@aws-sdk') && !fromRepoPath.startsWith(`shared${sep}aws${sep}`)) {
        return 'only the AWS adapters in shared/aws/ import @aws-sdk/*';
      }
    }
    if (pkg === 'onnxruntime-node' && fromTop === 'trainer-image' && from !== 'trainer-image/src/runtime') {
      return 'only trainer-image/src/runtime/ imports onnxruntime-node';
    }
    if (pkg === 'onnxruntime-node' && fromTop === 'functions')
      return 'functions/ never import onnxruntime-node';
    return undefined;
  }
  const toTop = top(targetRepoPath);
  const to = area(targetRepoPath);
  if (fromTop === 'shared' && toTop !== 'shared')
    return `shared/ imports nothing outside shared/ (got ${toTop}/)`;
  if (fromTop === 'functions') {
    if (toTop === 'shared') return undefined;
    const ownFunction = fromRepoPath.split(sep)[1];
    if (toTop === 'functions' && targetRepoPath.split(sep)[1] === ownFunction) return undefined;
    return `functions/ import shared/ only (got ${toTop === 'functions' ? 'another function' : `${toTop}/`})`;
  }
  if (fromTop === 'trainer-image') {
    if (toTop !== 'shared' && toTop !== 'trainer-image')
      return `trainer-image/ imports shared/ only (got ${toTop}/)`;
    if (
      (from === 'trainer-image/src/onnx' || from === 'trainer-image/src/autodiff') &&
      to === 'trainer-image/src/runtime'
    ) {
      return `${from} is pure and never imports runtime/`;
    }
    if (from === 'trainer-image/src/onnx' && to === 'trainer-image/src/autodiff') {
      return 'onnx/ never imports autodiff/ (the dependency runs autodiff → onnx)';
    }
    return undefined;
  }
  if (fromTop === 'infra') {
    if (toTop === 'trainer-image') return 'infra/ refers to trainer-image/ only as an asset path';
    if (toTop === 'functions' && from !== 'infra/embedded')
      return 'infra/ refers to functions/ only as entry paths';
    if (toTop === 'cli' || toTop === 'bench') return `infra/ never imports ${toTop}/`;
    return undefined;
  }
  if (fromTop === 'console' && toTop !== 'shared' && toTop !== 'console') {
    return `console/ imports shared/ only (got ${toTop}/)`;
  }
  if (
    (toTop === 'cli' && fromTop !== 'cli' && fromTop !== 'bench') ||
    (toTop === 'bench' && fromTop !== 'bench')
  ) {
    return `nothing imports ${toTop}/ but ${toTop === 'cli' ? 'cli/ and bench/' : 'bench/'}`;
  }
  return undefined;
}

export function findViolations(root: string): Violation[] {
  const violations: Violation[] = [];
  for (const dir of SOURCE_DIRS) {
    for (const file of listSourceFiles(join(root, dir))) {
      const fromRepoPath = relative(root, file);
      for (const specifier of importSpecifiers(readFileSync(file, 'utf8'))) {
        const isRelative = specifier.startsWith('.');
        const target = isRelative ? relative(root, resolve(dirname(file), specifier)) : undefined;
        if (target?.startsWith('..')) {
          violations.push({ file: fromRepoPath, specifier, rule: 'imports reach outside the repository' });
          continue;
        }
        const rule = checkImport(fromRepoPath, specifier, target);
        if (rule) violations.push({ file: fromRepoPath, specifier, rule });
      }
    }
  }
  return violations;
}
