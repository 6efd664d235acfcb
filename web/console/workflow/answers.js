// A visit's answers under the form's own labels, in the form's order, showing only the fields
// that applied: the shared form engine (shared/form-engine.js, the phone's and the server's rules)
// evaluates the version's relevance and calculations for these answers as of the visit's day; a
// field that was not relevant is left out (the engine dropped its answer anyway), a relevant field
// left unanswered is shown as such, and calculations are shown as the engine works them out.

import { html } from '../../shared/html.js';
import { pick, t } from '../../shared/i18n.js';
import { compileForm } from '../../shared/form-engine.js';
import { Photo } from './photos.js';

const isEmpty = (v) => v === null || v === undefined || v === '' || (Array.isArray(v) && v.length === 0);

const compiled = new WeakMap();

/** The engine's outcome for these answers (relevance by answer path, calculations shaped like
 * the answers), or null when the definition does not compile here. */
export function evaluate(definition, answers, today) {
  try {
    if (!compiled.has(definition)) compiled.set(definition, compileForm(definition));
    const { form, errors } = compiled.get(definition);
    if (!form || errors?.length) return null;
    return form.validate(answers ?? {}, today ? { today } : {});
  } catch {
    return null;
  }
}

function applies(outcome, path, value) {
  if (!outcome) return !isEmpty(value); // no engine verdict: shown when answered
  return outcome.relevant[path] ?? true;
}

function choiceLabel(field, v) {
  const c = (field.choices ?? []).find((x) => x.value === v);
  return c ? pick(c.label) : v;
}

function Value({ field, value, onOpenPhoto }) {
  if (isEmpty(value)) return html`<span class="wf-unanswered">${t('未填写', 'not answered')}</span>`;
  switch (field.kind) {
    case 'boolean': return value ? t('是', 'Yes') : t('否', 'No');
    case 'select_one': return choiceLabel(field, value);
    case 'select_multiple': return (Array.isArray(value) ? value : [value]).map((v) => choiceLabel(field, v)).join(t('、', ', '));
    case 'geopoint': return `${value.lat?.toFixed?.(6)}, ${value.lon?.toFixed?.(6)}${value.accuracy ? ` ±${Math.round(value.accuracy)} m` : ''}`;
    case 'photo': return html`<${Photo} id=${value} onClick=${() => onOpenPhoto(value)} />`;
    case 'decimal': return typeof value === 'number' ? value.toLocaleString('zh-CN', { maximumFractionDigits: 4 }) : String(value);
    case 'integer': return typeof value === 'number' ? value.toLocaleString('zh-CN') : String(value);
    default:
      if (typeof value === 'number') return value.toLocaleString('zh-CN', { maximumFractionDigits: 4 });
      return typeof value === 'object' ? JSON.stringify(value) : String(value);
  }
}

function Level({ fields, answers, calculated, outcome, prefix, onOpenPhoto }) {
  const rows = [];
  for (const f of fields) {
    const path = `${prefix}${f.name}`;
    const value = f.kind === 'calculate' ? calculated?.[f.name] : answers?.[f.name];
    if (!applies(outcome, path, value)) continue;
    if (f.kind === 'note') {
      rows.push(html`<div class="wf-answer wf-answer-note"><dt>${pick(f.label)}</dt><dd></dd></div>`);
      continue;
    }
    if (f.kind === 'calculate' && isEmpty(value)) continue;
    if (f.kind === 'repeat') {
      const instances = Array.isArray(value) ? value : [];
      rows.push(html`<div class="wf-answer wf-answer-repeat" data-field=${f.name}><dt>${pick(f.label)}（${instances.length}）</dt><dd>
        ${instances.map((inst, i) => html`<section class="wf-instance">
          <h4>${pick(f.label)} ${i + 1}</h4>
          <${Level} fields=${f.fields ?? []} answers=${inst} calculated=${calculated?.[f.name]?.[i]} outcome=${outcome}
            prefix=${`${path}[${i}].`} onOpenPhoto=${onOpenPhoto} />
        </section>`)}
      </dd></div>`);
      continue;
    }
    rows.push(html`<div class="wf-answer" data-field=${f.name}>
      <dt>${pick(f.label)}${f.kind === 'calculate' ? html` <small>${t('（计算）', '(calculated)')}</small>` : null}</dt>
      <dd><${Value} field=${f} value=${value} onOpenPhoto=${onOpenPhoto} /></dd>
    </div>`);
  }
  return html`<dl class="wf-answers">${rows}</dl>`;
}

/** The answers of a visit under `definition` (a FormDefinition), as of `today` (the visit's day). */
export function Answers({ definition, answers, today, onOpenPhoto }) {
  const outcome = evaluate(definition, answers, today);
  return html`${!outcome && html`<p class="muted">${t('此表单版本无法在浏览器中求值，仅列出已填写的项目。', 'This form version cannot be evaluated here: only the answered fields are listed.')}</p>`}
    <${Level} fields=${definition.fields ?? []} answers=${answers} calculated=${outcome?.calculated} outcome=${outcome}
    prefix="" onOpenPhoto=${onOpenPhoto} />`;
}

/** How many questions applied to these answers and how many were skipped. */
export function relevanceCounts(definition, answers, today) {
  const outcome = evaluate(definition, answers, today);
  if (!outcome) return null;
  const flags = Object.values(outcome.relevant);
  return { skipped: flags.filter((r) => !r).length, shown: null };
}
