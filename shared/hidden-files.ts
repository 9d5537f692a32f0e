// The one rule for files that are not part of a job's images although they sit among them: what macOS, Windows
// and zip tools leave behind. submit-job skips them (neither checked nor pinned) and the trainer never loads them.

/** Names operating systems add to folders by themselves (compared case-insensitively). */
const SYSTEM_FILES = new Set(['thumbs.db', 'ehthumbs.db', 'desktop.ini']);
/** Folders archive tools add (a zip made on macOS carries `__MACOSX/`, with `._` resource forks inside). */
const SYSTEM_FOLDERS = new Set(['__macosx']);

/**
 * Whether a file, given by its path relative to the images folder (`/`-separated), is hidden: a dotfile
 * (`.DS_Store`, `._photo.jpg`), a system file (`Thumbs.db`, `desktop.ini`) or anything under `__MACOSX/`.
 */
export function isHiddenFile(relativePath: string): boolean {
  const parts = relativePath.split('/').filter((part) => part !== '');
  const name = parts.at(-1) ?? '';
  return (
    name.startsWith('.') ||
    SYSTEM_FILES.has(name.toLowerCase()) ||
    parts.slice(0, -1).some((folder) => folder.startsWith('.') || SYSTEM_FOLDERS.has(folder.toLowerCase()))
  );
}
