// Findings: the queue of what the rules, department data and citizens' reports raised, each with
// the evidence that fired it; a coordinator converts one into an application (the categories
// chosen from the suggestions) or dismisses it with a reason.

import { html, useState, useEffect } from '../../shared/html.js';
import { get, post } from '../../shared/api.js';
import { t, label, values, pick, hasLabel } from '../../shared/i18n.js';
import { fmtDateTime } from '../../shared/time.js';
import {
  Button, EnumBadge, Badge, PageHead, Card, Facts, Modal, Field, TextArea, Select, ErrorLine, FormDialog, PagedTable,
  useAsync, toast, go,
} from '../ui.js';
import { useWorkflowStyles } from '../workflow/style.js';
import { HouseholdName } from '../workflow/people.js';
import { FACT, words } from '../workflow/labels.js';

const STATES = ['open', 'converted', 'dismissed'];

let rulesPromise = null;
/** The rules' titles by id (GET /rules), for types beyond the default table. */
function ruleTitles() {
  if (!rulesPromise) {
    rulesPromise = get('/rules').then((list) => new Map((Array.isArray(list) ? list : list.items ?? []).map((r) => [r.id, r.title])), () => new Map());
  }
  return rulesPromise;
}

function typeName(type, titles) {
  if (hasLabel('finding_type', type)) return label('finding_type', type);
  const title = titles?.get(type);
  return title ? pick(title) : type;
}

function show(v) {
  if (v === null || v === undefined || v === '') return '—';
  if (typeof v === 'boolean') return v ? t('是', 'yes') : t('否', 'no');
  if (typeof v === 'number') return v.toLocaleString('zh-CN', { maximumFractionDigits: 4 });
  if (Array.isArray(v)) return v.some((x) => x && typeof x === 'object') ? t(`${v.length} 人`, `${v.length}`) : v.map(show).join(t('、', ', '));
  if (typeof v === 'object') return JSON.stringify(v);
  if (hasLabel('household_status', v)) return label('household_status', v);
  return String(v);
}

/** The facts the rule read and the values it computed, in words. */
export function Evidence({ finding }) {
  const rows = (obj) => Object.entries(obj ?? {}).filter(([, v]) => v !== null && v !== undefined);
  const inputs = rows(finding.inputs);
  const computed = rows(finding.computed);
  if (!inputs.length && !computed.length) return html`<p class="muted">${t('无记录的依据', 'No evidence recorded')}</p>`;
  return html`<div class="wf-evidence grid-2" data-testid="finding-evidence">
    <div><h3>${t('依据的事实', 'Facts read')}</h3><table><tbody>
      ${inputs.map(([k, v]) => html`<tr><th title=${k}>${words(FACT, k)}</th><td>${show(v)}</td></tr>`)}
    </tbody></table></div>
    <div><h3>${t('计算结果', 'Computed')}</h3><table><tbody>
      ${computed.map(([k, v]) => html`<tr><th title=${k}>${words(FACT, k)}</th><td>${show(v)}</td></tr>`)}
    </tbody></table>
    ${finding.reason && html`<p><strong>${t('排除原因：', 'Dismissed because: ')}</strong>${finding.reason}</p>`}</div>
  </div>`;
}

function ConvertDialog({ finding, onClose }) {
  const [categories, setCategories] = useState(new Set(finding.categories));
  const [note, setNote] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const toggle = (c, on) => setCategories((s) => {
    const next = new Set(s);
    if (on) next.add(c); else next.delete(c);
    return next;
  });
  const submit = async () => {
    setBusy(true);
    setError(null);
    try {
      const app = await post(`/findings/${finding.id}/convert`, { categories: [...categories], note: note.trim() });
      toast(t('已转为救助申请', 'Converted into an application'));
      go(`/applications/${app.id}`);
    } catch (e) {
      setError(e);
      setBusy(false);
    }
  };
  const all = values('category');
  return html`<${Modal} title=${t('转为救助申请', 'Convert into an application')} onClose=${onClose} footer=${html`
      <${Button} onClick=${onClose}>${t('取消', 'Cancel')}<//>
      <${Button} kind="primary" busy=${busy} disabled=${categories.size === 0} onClick=${submit} data-action="confirm-convert">${t('提交申请', 'File the application')}<//>`}>
    <p>${t('代该户向街道提交申请，户籍信息和发现依据将自动带入。', 'Files an application on the family’s behalf; the household and the evidence are carried over.')}</p>
    <${Field} label=${t('申请类别（已勾选系统建议的类别）', 'Categories (the suggestions are ticked)')} required>
      <div role="group">${all.map((c) => html`<label class="wf-check">
        <input type="checkbox" name="category" value=${c} checked=${categories.has(c)} onChange=${(e) => toggle(c, e.currentTarget.checked)} />
        ${label('category', c)}${finding.categories.includes(c) ? html` <${Badge} tone="info">${t('建议', 'suggested')}<//>` : ''}</label>`)}</div>
    <//>
    <${Field} label=${t('说明（内部）', 'Note (internal)')}><${TextArea} name="note" value=${note} onInput=${setNote} rows=${2} /><//>
    <${ErrorLine} error=${error} />
  <//>`;
}

function FindingDetail({ finding, titles, onConvert, onDismiss }) {
  return html`<${Card} class="wf-finding" title=${typeName(finding.type, titles)}
      actions=${html`<${EnumBadge} kind="finding_state" value=${finding.state} />`}>
    <div class="stack" data-finding=${finding.id} data-state=${finding.state}>
      <${Facts} items=${[
        [t('住户', 'Household'), html`<${HouseholdName} id=${finding.household_id} />`],
        [t('来源', 'Source'), label('finding_source', finding.source)],
        [t('发现时间', 'Found'), fmtDateTime(finding.created_at)],
        [t('规则', 'Rule'), finding.rule_id ? `${finding.rule_id} v${finding.rule_version ?? ''}` : '—'],
        [t('建议类别', 'Suggested categories'), finding.categories.map((c) => label('category', c)).join(t('、', ', ')) || '—'],
        finding.application_id && [t('申请', 'Application'), html`<a href=${`#/applications/${finding.application_id}`}>${t('查看申请', 'Open')} →</a>`],
      ]} />
      <${Evidence} finding=${finding} />
      ${finding.state === 'open' && html`<div class="row">
        ${finding.household_id ? html`<${Button} kind="primary" onClick=${() => onConvert(finding)} data-action="convert">${t('转为救助申请', 'Convert into an application')}<//>`
          : html`<span class="muted">${t('网格外的自报须先核实到户，才能转为申请。', 'A report outside every grid needs a household before it can become an application.')}</span>`}
        <${Button} onClick=${() => onDismiss(finding)} data-action="dismiss">${t('排除', 'Dismiss')}<//>
      </div>`}
    </div>
  <//>`;
}

export default function Findings({ me }) {
  useWorkflowStyles();
  const [state, setState] = useState('open');
  const [type, setType] = useState('');
  const [reloadKey, setReloadKey] = useState(0);
  const [converting, setConverting] = useState(null);
  const [dismissing, setDismissing] = useState(null);
  const [chosen, setChosen] = useState(null);
  const titles = useAsync(() => ruleTitles(), []);
  const types = [...new Set([...values('finding_type'), ...(titles.data?.keys() ?? [])])];
  return html`<div class="stack" data-screen="findings">
    <${PageHead} title=${t('主动发现', 'Findings')} />
    <div class="filters">
      <${Field} label=${t('状态', 'State')}><${Select} name="state" value=${state} onChange=${setState} placeholder=${t('全部', 'All')}
        options=${STATES.map((s) => [s, label('finding_state', s)])} /><//>
      <${Field} label=${t('类型', 'Type')}><${Select} name="type" value=${type} onChange=${setType} placeholder=${t('全部', 'All')}
        options=${types.map((x) => [x, typeName(x, titles.data)])} /><//>
    </div>
    <div class="wf-split">
      <${PagedTable} path="/findings" params=${{ state: state || null, type: type || null }} reloadKey=${reloadKey} limit=${25}
        empty=${t('没有符合条件的发现', 'No findings')} onRow=${setChosen}
        rowClass=${(f) => (chosen?.id === f.id ? 'is-chosen' : '')}
        columns=${[
          { key: 'type', title: t('类型', 'Type'), render: (f) => html`<span data-row-finding=${f.id}>${typeName(f.type, titles.data)}</span>` },
          { key: 'household', title: t('住户', 'Household'), render: (f) => html`<${HouseholdName} id=${f.household_id} link=${false} />` },
          { key: 'source', title: t('来源', 'Source'), render: (f) => label('finding_source', f.source) },
          { key: 'created', title: t('时间', 'Found'), class: 'nowrap', render: (f) => fmtDateTime(f.created_at) },
          { key: 'state', title: t('状态', 'State'), render: (f) => html`<${EnumBadge} kind="finding_state" value=${f.state} />` },
        ]} />
      <div class="wf-split-side">
        ${chosen ? html`<${FindingDetail} key=${chosen.id} finding=${chosen} titles=${titles.data} onConvert=${setConverting} onDismiss=${setDismissing} />`
          : html`<p class="muted">${t('点选左侧一条发现，查看依据并处理。', 'Pick a finding to see its evidence and act on it.')}</p>`}
      </div>
    </div>
    ${converting && html`<${ConvertDialog} finding=${converting} onClose=${() => setConverting(null)} />`}
    ${dismissing && html`<${FormDialog} title=${t('排除此发现', 'Dismiss this finding')} submitText=${t('确定排除', 'Dismiss')}
      fields=${[{ name: 'reason', label: t('排除原因（记入审计）', 'Reason (audited)'), kind: 'textarea', required: true }]}
      onSubmit=${async (v) => {
        const f = await post(`/findings/${dismissing.id}/dismiss`, { reason: v.reason.trim() });
        toast(t('已排除', 'Dismissed'));
        setChosen(f);
        setReloadKey((k) => k + 1);
      }}
      onClose=${() => setDismissing(null)} />`}
  </div>`;
}
