// A visit's answers under the form's own labels, in the form's order, showing only the fields
// that applied: a field whose `relevant` is false for these answers is left out (the engine
// dropped its answer anyway), a relevant field left unanswered is shown as such. Calculations
// are worked out again here, since the server stores answers, not calculations.

import { html } from '../../shared/html.js';
import { pick, t } from '../../shared/i18n.js';
import { Photo } from './photos.js';
import { isRelevant, calculate } from './expr.js';

const isEmpty = (v) => v === null || v === undefined || v === '' || (Array.isArray(v) && v.length === 0);

/** The answers of one level with its calculations added, repeat instances included (a level's
 * sum over its members reads the members' own calculations). Two passes: a calculation may use
 * one written after it, or one inside a repeat. */
export function withCalculations(fields, answers, outer, position) {
  const level = { ...(answers ?? {}) };
  const calculate_ = () => {
    for (const f of fields) {
      if (f.kind !== 'calculate' || !f.calculate) continue;
      try {
        level[f.name] = calculate(f.calculate, [level, ...outer], position);
      } catch {
        level[f.name] = null;
      }
    }
  };
  calculate_();
  for (const f of fields) {
    if (f.kind === 'repeat' && Array.isArray(level[f.name])) {
      level[f.name] = level[f.name].map((inst, i) => withCalculations(f.fields ?? [], inst, [level, ...outer], i + 1));
    }
  }
  calculate_();
  return level;
}

function relevance(field, scopes, position, value) {
  try {
    return isRelevant(field.relevant, scopes, position);
  } catch {
    return !isEmpty(value); // beyond this reader: shown when answered
  }
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
    case 'select_multiple': return (Array.isArray(value) ? value : [value]).map((v) => choiceLabel(field, v)).join('、');
    case 'geopoint': return `${value.lat?.toFixed?.(6)}, ${value.lon?.toFixed?.(6)}${value.accuracy ? ` ±${Math.round(value.accuracy)} m` : ''}`;
    case 'photo': return html`<${Photo} id=${value} onClick=${() => onOpenPhoto(value)} />`;
    case 'decimal': return typeof value === 'number' ? value.toLocaleString('zh-CN', { maximumFractionDigits: 4 }) : String(value);
    case 'integer': return typeof value === 'number' ? value.toLocaleString('zh-CN') : String(value);
    default:
      if (typeof value === 'number') return value.toLocaleString('zh-CN', { maximumFractionDigits: 4 });
      return typeof value === 'object' ? JSON.stringify(value) : String(value);
  }
}

function Level({ fields, answers, outer, position, onOpenPhoto, depth }) {
  const level = withCalculations(fields, answers, outer, position);
  const scopes = [level, ...outer];
  const rows = [];
  for (const f of fields) {
    const value = level[f.name];
    if (!relevance(f, scopes, position, value)) continue;
    if (f.kind === 'note') {
      rows.push(html`<div class="wf-answer wf-answer-note"><dt>${pick(f.label)}</dt><dd></dd></div>`);
      continue;
    }
    if (f.kind === 'calculate' && isEmpty(value)) continue;
    if (f.kind === 'repeat') {
      const instances = Array.isArray(value) ? value : [];
      rows.push(html`<div class="wf-answer wf-answer-repeat"><dt>${pick(f.label)}（${instances.length}）</dt><dd>
        ${instances.map((inst, i) => html`<section class="wf-instance">
          <h4>${pick(f.label)} ${i + 1}</h4>
          <${Level} fields=${f.fields ?? []} answers=${inst} outer=${scopes} position=${i + 1} onOpenPhoto=${onOpenPhoto} depth=${depth + 1} />
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

/** The answers of `visit` under `definition` (a FormDefinition). */
export function Answers({ definition, answers, onOpenPhoto }) {
  return html`<${Level} fields=${definition.fields ?? []} answers=${answers} outer=${[]} position=${1}
    onOpenPhoto=${onOpenPhoto} depth=${0} />`;
}

/** How many fields of the definition applied to these answers, and how many were skipped. */
export function relevanceCounts(definition, answers) {
  let shown = 0;
  let skipped = 0;
  const walk = (fields, ans, outer, position) => {
    const level = withCalculations(fields, ans, outer, position);
    const scopes = [level, ...outer];
    for (const f of fields) {
      if (f.kind === 'calculate' || f.kind === 'note') continue;
      if (!relevance(f, scopes, position, level[f.name])) { skipped++; continue; }
      shown++;
      if (f.kind === 'repeat') (level[f.name] ?? []).forEach((inst, i) => walk(f.fields ?? [], inst, scopes, i + 1));
    }
  };
  walk(definition.fields ?? [], answers, [], 1);
  return { shown, skipped };
}
