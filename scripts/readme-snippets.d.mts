// Types of readme-snippets.mjs, for the tests that import it.

export type SnippetFlag = 'fragment' | 'no-run' | 'signature';

export interface Snippet {
  /** The README, relative to the repository. */
  file: string;
  /** The line of the opening fence (1-based). */
  line: number;
  lang: string;
  code: string;
  flags: Set<SnippetFlag>;
  /** A file name unique to the block. */
  name: string;
}

export function readmeFiles(root: string): string[];
export function snippetsOf(root: string, file: string): Snippet[];
export function codeSnippets(root: string): Snippet[];
export const CONTEXT: Record<string, { declare: string; run?: string }>;
export function contextOf(snippet: Snippet): string[];
export function moduleOf(snippet: Snippet): string;
export function commonJsModuleOf(snippet: Snippet): string;
export function programOf(snippet: Snippet, options?: { cjs?: boolean }): string;
export function readmeLine(snippet: Snippet, moduleLine: number): number | undefined;
