import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';

/**
 * The pages' only stylesheet and script, served by Berth under names that carry a hash of their
 * content, so browsers may keep them for a year and a new release is fetched anew.
 */
const stylesheet = `
:root { color-scheme: light dark; --bg: #ffffff; --fg: #1f2328; --muted: #59636e; --line: #d1d9e0; --panel: #f6f8fa; --accent: #0757c4; --danger: #b3261e; --ok: #1a7f37; }
@media (prefers-color-scheme: dark) { :root { --bg: #0d1117; --fg: #e6edf3; --muted: #9198a1; --line: #3d444d; --panel: #151b23; --accent: #58a6ff; --danger: #ff7b72; --ok: #3fb950; } }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--fg); font: 16px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; }
a { color: var(--accent); }
a:focus-visible, button:focus-visible, input:focus-visible, select:focus-visible { outline: 3px solid var(--accent); outline-offset: 2px; }
header.site { display: flex; flex-wrap: wrap; gap: .5rem 1.25rem; align-items: center; padding: .75rem 1.25rem; border-bottom: 1px solid var(--line); background: var(--panel); }
header.site .brand { font-weight: 700; font-size: 1.15rem; color: var(--fg); text-decoration: none; }
header.site nav { display: flex; flex-wrap: wrap; gap: 1rem; align-items: center; margin-left: auto; }
header.site form { margin: 0; }
main { max-width: 72rem; margin: 0 auto; padding: 1.25rem; }
h1 { font-size: 1.6rem; margin: .25rem 0 .5rem; overflow-wrap: anywhere; }
h2 { font-size: 1.15rem; margin: 1.5rem 0 .5rem; }
.muted { color: var(--muted); }
.layout { display: grid; grid-template-columns: minmax(0, 1fr) 18rem; gap: 2rem; }
@media (max-width: 48rem) { .layout { grid-template-columns: minmax(0, 1fr); } }
aside section { border-top: 1px solid var(--line); padding: .75rem 0; }
aside h2 { font-size: 1rem; margin: 0 0 .5rem; }
dl.details { display: grid; grid-template-columns: auto minmax(0, 1fr); gap: .25rem .75rem; margin: 0; }
dl.details dt { color: var(--muted); }
dl.details dd { margin: 0; overflow-wrap: anywhere; }
pre, code { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: .9rem; }
.command { display: flex; gap: .5rem; align-items: stretch; }
.command pre { flex: 1; margin: 0; padding: .5rem .75rem; background: var(--panel); border: 1px solid var(--line); border-radius: 6px; overflow-x: auto; }
ul.items { list-style: none; padding: 0; margin: 0; }
ul.items li { padding: .75rem 0; border-bottom: 1px solid var(--line); }
ul.items .name { font-weight: 600; }
.badge { display: inline-block; padding: 0 .5rem; border: 1px solid var(--line); border-radius: 1rem; font-size: .8rem; color: var(--muted); vertical-align: middle; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .4rem .5rem; border-bottom: 1px solid var(--line); vertical-align: top; overflow-wrap: anywhere; }
form.stack { display: grid; gap: .75rem; max-width: 28rem; }
form.filters { display: flex; flex-wrap: wrap; gap: .5rem .75rem; align-items: end; margin: .5rem 0 1rem; }
form.filters > div { display: grid; gap: .25rem; flex: 1 1 12rem; }
label { font-weight: 600; }
input[type=text], input[type=password], input[type=search], select { width: 100%; padding: .45rem .6rem; border: 1px solid var(--line); border-radius: 6px; background: var(--bg); color: var(--fg); font: inherit; }
fieldset { border: 1px solid var(--line); border-radius: 6px; }
fieldset label { font-weight: 400; display: block; }
button { font: inherit; padding: .4rem .9rem; border-radius: 6px; border: 1px solid var(--line); background: var(--panel); color: var(--fg); cursor: pointer; }
button.primary { background: var(--accent); border-color: var(--accent); color: #ffffff; }
@media (prefers-color-scheme: dark) { button.primary { color: #0d1117; } }
button.danger { color: var(--danger); }
button.link { border: none; background: none; padding: 0; color: var(--accent); text-decoration: underline; }
.notice { padding: .75rem 1rem; border: 1px solid var(--line); border-radius: 6px; background: var(--panel); }
.notice.error { border-color: var(--danger); }
.notice.ok { border-color: var(--ok); }
.visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
`;

const script = `
document.addEventListener('click', (event) => {
  const button = event.target instanceof Element ? event.target.closest('[data-copy]') : null;
  if (!button) return;
  navigator.clipboard.writeText(button.getAttribute('data-copy') || '').then(() => {
    const label = button.textContent;
    button.textContent = 'Copied';
    setTimeout(() => { button.textContent = label; }, 1500);
  });
});
document.addEventListener('submit', (event) => {
  const form = event.target;
  if (form instanceof HTMLFormElement && form.dataset.confirm && !window.confirm(form.dataset.confirm)) event.preventDefault();
});
for (const button of document.querySelectorAll('[data-copy]')) button.hidden = false;
`;

export interface Asset {
  path: string;
  contentType: string;
  body: Buffer;
  gzipped: Buffer;
}

function asset(name: string, extension: string, contentType: string, text: string): Asset {
  const body = Buffer.from(text.trim(), 'utf8');
  const hash = createHash('sha256').update(body).digest('hex').slice(0, 12);
  return { path: `/assets/${name}.${hash}.${extension}`, contentType, body, gzipped: gzipSync(body) };
}

export const assets = {
  stylesheet: asset('berth', 'css', 'text/css; charset=utf-8', stylesheet),
  script: asset('berth', 'js', 'text/javascript; charset=utf-8', script),
};
