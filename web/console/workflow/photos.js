// Photos behind the bearer token: fetched as blobs and shown through object URLs (the CSP allows
// `img-src blob:`), revoked when the image leaves the page.

import { html, useEffect, useState } from '../../shared/html.js';
import { objectUrl } from '../../shared/api.js';
import { t } from '../../shared/i18n.js';

/** `<img>` of `/photos/{id}/{variant}` (variant `thumb` or `display`). */
export function Photo({ id, variant = 'thumb', alt = '', class: cls = '', onClick }) {
  const [src, setSrc] = useState(null);
  const [failed, setFailed] = useState(null);
  useEffect(() => {
    let url = null;
    let live = true;
    setSrc(null);
    setFailed(null);
    objectUrl(`/photos/${id}/${variant}`)
      .then((u) => { if (live) { url = u; setSrc(u); } else URL.revokeObjectURL(u); })
      .catch((e) => { if (live) setFailed(e?.status === 404 ? 'hidden' : 'error'); });
    return () => { live = false; if (url) URL.revokeObjectURL(url); };
  }, [id, variant]);
  if (failed) {
    // A photo of another area's visit (a reused one, say) is not the caller's to see.
    return html`<span class=${`wf-photo wf-photo-missing ${cls}`} title=${id}>${failed === 'hidden'
      ? t('照片属于您管辖范围以外的走访', 'The photo belongs to a visit outside your area')
      : t('照片暂时无法加载', 'The photo could not be loaded')}</span>`;
  }
  if (!src) return html`<span class=${`wf-photo wf-photo-loading ${cls}`} aria-busy="true"></span>`;
  return html`<img class=${`wf-photo ${cls}`} src=${src} alt=${alt} data-photo=${id}
    onClick=${onClick} role=${onClick ? 'button' : undefined} tabindex=${onClick ? 0 : undefined}
    onKeyDown=${onClick ? (e) => { if (e.key === 'Enter') onClick(e); } : undefined} />`;
}

/** The display copy over the page, closed by a click, Escape or the close button. */
export function PhotoViewer({ id, onClose }) {
  useEffect(() => {
    const key = (e) => { if (e.key === 'Escape') onClose(); };
    window.addEventListener('keydown', key);
    return () => window.removeEventListener('keydown', key);
  }, [onClose]);
  return html`<div class="wf-viewer" role="dialog" aria-label=${t('照片', 'Photo')} onClick=${onClose}>
    <${Photo} id=${id} variant="display" class="wf-viewer-img" alt=${t('照片大图', 'Photo, display copy')} />
    <button type="button" class="wf-viewer-close" onClick=${onClose}>${t('关闭', 'Close')} ✕</button>
  </div>`;
}
