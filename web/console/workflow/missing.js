// An item that is not there, or not in the caller's area (the API answers both alike, so as not to
// tell which): said so, with the way back to its list instead of a pointless retry.

import { html } from '../../shared/html.js';
import { t } from '../../shared/i18n.js';
import { Async } from '../ui.js';

export function Missing({ back, what }) {
  return html`<div class="state state-error" role="alert" data-testid="not-found">
    <div>${t(`未找到该${what[0]}，或不在您的管辖范围内。`, `No such ${what[1]}, or it is outside your area.`)}</div>
    <a href=${back}>${t('返回列表', 'Back to the list')}</a>
  </div>`;
}

/** `Async` from ui.js, with a 404 shown as Missing. */
export function AsyncItem({ state, back, what, children }) {
  if (state.error?.status === 404) return html`<${Missing} back=${back} what=${what} />`;
  return html`<${Async} state=${state}>${children}<//>`;
}
