/**
 * Where the project lives and which version of it is being synthesized. Paths are resolved from this
 * file, not the working directory, so `cdk synth` and the Template tests agree wherever they run from.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (the folder holding `package.json` and `cdk.json`). */
export const projectRoot: string = fileURLToPath(new URL('../', import.meta.url));

/** An absolute path for a path relative to the repository root (absolute paths are kept). */
export function fromProjectRoot(path: string): string {
  return isAbsolute(path) ? path : join(projectRoot, path);
}

/** The short commit hash of the checkout, or undefined outside a git work tree or without git. */
function gitShortSha(): string | undefined {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], {
      cwd: projectRoot,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {
    return undefined;
  }
}

/**
 * The code version every function reports as `CODE_VERSION` and every model run records:
 * `package.json` version, plus the commit as semver build metadata when git can tell it.
 * @example codeVersion() // '0.1.0+e7aaaa4', or '0.1.0' from a tarball without .git
 */
export function codeVersion(): string {
  cachedCodeVersion ??= readCodeVersion();
  return cachedCodeVersion;
}

let cachedCodeVersion: string | undefined;

function readCodeVersion(): string {
  const { version } = JSON.parse(readFileSync(join(projectRoot, 'package.json'), 'utf8')) as {
    version: string;
  };
  const sha = gitShortSha();
  return sha === undefined ? version : `${version}+${sha}`;
}
