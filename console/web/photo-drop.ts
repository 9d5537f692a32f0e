// The form's photo picker: a drop zone that takes files and folders (read recursively), two buttons for the
// system's file and folder choosers, thumbnails, and Clear. Only PNG, JPEG and WebP are kept, never dotfiles.
import { h } from './dom.ts';

/** Photos the pipeline takes (it checks the content again); not dotfiles such as .DS_Store. */
function isPhoto(file: File): boolean {
  return (
    !file.name.startsWith('.') &&
    (/^image\/(png|jpeg|webp)$/.test(file.type) || /\.(png|jpe?g|webp)$/i.test(file.name))
  );
}

/** The files under a dropped entry: the file itself, or everything inside a folder. */
async function filesOf(entry: FileSystemEntry): Promise<File[]> {
  if (entry.isFile) {
    return [
      await new Promise<File>((resolve, reject) => (entry as FileSystemFileEntry).file(resolve, reject)),
    ];
  }
  if (!entry.isDirectory) return [];
  const reader = (entry as FileSystemDirectoryEntry).createReader();
  const found: File[] = [];
  // readEntries answers in batches until an empty one.
  for (;;) {
    const batch = await new Promise<FileSystemEntry[]>((resolve, reject) =>
      reader.readEntries(resolve, reject),
    );
    if (batch.length === 0) return found;
    for (const child of batch) found.push(...(await filesOf(child)));
  }
}

/** The drop zone's element and the photos chosen so far. */
export function photoDrop(): { readonly element: HTMLElement; files(): readonly File[] } {
  let files: File[] = [];

  const picker = h('input', {
    type: 'file',
    id: 'images',
    multiple: '',
    accept: 'image/png,image/jpeg,image/webp',
  }) as HTMLInputElement;
  const folderPicker = h('input', { type: 'file', id: 'folder', webkitdirectory: '' }) as HTMLInputElement;
  const thumbs = h('div', { class: 'thumbs' });
  const count = h('p', {}, 'Drop photos of your concept, or a folder of them, here.');
  const choose = (input: HTMLInputElement, label: string) => {
    const button = h('button', { type: 'button', class: 'button' }, label);
    button.addEventListener('click', () => input.click());
    return button;
  };
  const clear = h('button', { type: 'button', class: 'button', hidden: '' }, 'Clear');
  const drop = h(
    'div',
    { class: 'drop' },
    count,
    h(
      'p',
      { class: 'choose' },
      choose(picker, 'Choose photos'),
      choose(folderPicker, 'Choose a folder'),
      clear,
    ),
    thumbs,
    picker,
    folderPicker,
  );
  const add = (more: readonly File[]) => {
    files = [...files, ...more.filter(isPhoto)];
    thumbs.replaceChildren(
      ...files.map((file) => h('img', { src: URL.createObjectURL(file), alt: file.name, title: file.name })),
    );
    drop.classList.toggle('has-files', files.length > 0);
    clear.hidden = files.length === 0;
    count.textContent = files.length
      ? `${files.length} photo${files.length === 1 ? '' : 's'} — drop or choose more to add them.`
      : 'Drop photos of your concept, or a folder of them, here.';
  };
  clear.addEventListener('click', () => {
    files = [];
    add([]);
  });
  for (const input of [picker, folderPicker]) {
    input.addEventListener('change', () => {
      add([...(input.files ?? [])]);
      input.value = '';
    });
  }
  drop.addEventListener('dragover', (event) => {
    event.preventDefault();
    drop.classList.add('over');
  });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (event) => {
    event.preventDefault();
    drop.classList.remove('over');
    // The entries must be taken while the event lasts; a dropped folder is read (recursively) afterwards.
    const entries = [...(event.dataTransfer?.items ?? [])].flatMap((item) => item.webkitGetAsEntry() ?? []);
    void Promise.all(entries.map(filesOf)).then((found) => add(found.flat()));
  });

  return { element: drop, files: () => files };
}
