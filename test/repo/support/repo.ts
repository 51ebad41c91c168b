import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository's root directory, with a trailing slash. */
export const root = fileURLToPath(new URL("../../../", import.meta.url));

/** A file of the repository, by its path from the root. */
export const read = (path: string): string => readFileSync(join(root, path), "utf8");

export const readJson = <T>(path: string): T => JSON.parse(read(path)) as T;

export interface Manifest {
  readonly name: string;
  readonly version: string;
  readonly private?: boolean;
  readonly license?: string;
  readonly keywords?: readonly string[];
  readonly homepage?: string;
  readonly repository?: {
    readonly type?: string;
    readonly url?: string;
    readonly directory?: string;
  };
  readonly bugs?: { readonly url?: string };
  readonly engines?: { readonly node?: string };
  readonly files?: readonly string[];
  readonly scripts?: Record<string, string>;
  readonly publishConfig?: { readonly access?: string; readonly provenance?: boolean };
  readonly dependencies?: Record<string, string>;
  readonly peerDependencies?: Record<string, string>;
}

/** Every package under `packages/`, with its directory from the root. */
export function packages(): { readonly dir: string; readonly manifest: Manifest }[] {
  return readdirSync(join(root, "packages"), { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => `packages/${entry.name}`)
    .filter((dir) => existsSync(join(root, dir, "package.json")))
    .map((dir) => ({ dir, manifest: readJson<Manifest>(`${dir}/package.json`) }));
}

/** The packages published to npm (`private` is not set). */
export const publicPackages = () => packages().filter(({ manifest }) => manifest.private !== true);
