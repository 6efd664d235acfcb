// Overview of the caller's org unit (or a unit picked down the subtree): households by status, visit
// coverage, overdue work, open findings by type, applications by state and the working days per step,
// the relative poverty line and the MPI. Each chart has its numbers beside it; the numbers render first
// and the charts follow when ECharts has loaded.

import { html, useState, useEffect } from '../../shared/html.js';
import { get } from '../../shared/api.js';
import { t, label, pick, hasLabel } from '../../shared/i18n.js';
import { fmtNumber, fmtPercent } from '../../shared/time.js';
import { Card, Stat, UnitPicker, useAsync, Async, Chart, PALETTE, PageHead, Select, Empty, go } from '../ui.js';

const WINDOWS = [30, 90, 365];

function unitFromQuery(params, me) {
  const v = params?.query?.unit;
  return v ? v : me.org_unit_id;
}

export default function Overview({ params, me }) {
  const unitId = unitFromQuery(params, me);
  const days = WINDOWS.includes(Number(params?.query?.days)) ? Number(params.query.days) : 365;
  const overview = useAsync(() => get('/stats/overview', { org_unit_id: unitId, days }), [unitId, days]);
  const setQuery = (u, d) => go(`/overview?unit=${encodeURIComponent(u)}&days=${d}`);
  return html`<div class="overview">
    <${PageHead} title=${t('工作概览', 'Overview')}>
      <${UnitPicker} rootId=${me.org_unit_id} value=${unitId} stopAt="grid" onChange=${(u) => setQuery(u.id, days)} />
      <${Select} aria-label=${t('走访覆盖统计窗口', 'Coverage window')} value=${days} onChange=${(d) => setQuery(unitId, d)}
        options=${WINDOWS.map((d) => [d, t(`近 ${d} 天`, `last ${d} days`)])} />
    <//>
    <${Async} state=${overview}>${(o) => html`<${OverviewBody} o=${o} unitId=${unitId} />`}<//>
  </div>`;
}

function countRows(list, kind, rules) {
  return [...list].sort((a, b) => b.count - a.count).map((c) => ({
    key: c.key,
    name: kind === 'finding_type' && rules?.[c.key] ? pick(rules[c.key]) : label(kind, c.key),
    count: c.count,
  }));
}

function OverviewBody({ o, unitId }) {
  const total = o.households;
  const byStatus = countRows(o.households_by_status, 'household_status');
  const rules = useRuleTitles();
  const findings = countRows(o.open_findings_by_type, 'finding_type', rules);
  const apps = countRows(o.applications_by_state, 'application_state');
  const steps = [...o.step_times];
  const openFindings = findings.reduce((s, f) => s + f.count, 0);
  return html`
    <div class="stats" data-testid="overview-numbers">
      <${Stat} label=${t('户数', 'Households')} value=${fmtNumber(total)} />
      <${Stat} label=${t(`走访覆盖（近 ${o.coverage_days} 天）`, `Visited (last ${o.coverage_days} days)`)} value=${fmtPercent(o.visit_coverage)}
        hint=${t(`${fmtNumber(o.households_visited)} 户已走访`, `${fmtNumber(o.households_visited)} households visited`)}
        tone=${o.visit_coverage < 0.5 ? 'warn' : 'ok'} />
      <${Stat} label=${t('逾期任务', 'Overdue tasks')} value=${fmtNumber(o.overdue_tasks)} tone=${o.overdue_tasks ? 'bad' : undefined} />
      <${Stat} label=${t('待审核的异常走访', 'Flagged visits to review')} value=${fmtNumber(o.flagged_visits_pending)} tone=${o.flagged_visits_pending ? 'warn' : undefined} />
      <${Stat} label=${t('待处理发现', 'Open findings')} value=${fmtNumber(openFindings)} tone=${openFindings ? 'warn' : undefined} />
      <${Stat} label=${t('超时申请', 'Overdue applications')} value=${fmtNumber(o.overdue_applications)} tone=${o.overdue_applications ? 'bad' : undefined} />
    </div>
    <div class="grid-2">
      <${Card} title=${t('住户救助状态', 'Households by assistance status')}>
        <${ChartWithNumbers} rows=${byStatus} total=${total} kind="pie" caption=${t('住户救助状态', 'Households by status')} />
      <//>
      <${Card} title=${t('待处理的主动发现（按类型）', 'Open findings by type')} actions=${html`<a href="#/findings">${t('去处理', 'Handle')}</a>`}>
        <${ChartWithNumbers} rows=${findings} kind="bar" caption=${t('待处理发现', 'Open findings')} />
      <//>
      <${Card} title=${t('救助申请（按环节）', 'Applications by state')} actions=${html`<a href="#/applications">${t('查看', 'View')}</a>`}>
        <${ChartWithNumbers} rows=${apps} kind="bar" caption=${t('救助申请', 'Applications')} />
      <//>
      <${Card} title=${t('各环节平均用时（工作日）', 'Mean working days per step')}>
        <${StepTimes} steps=${steps} />
      <//>
    </div>
    <${PovertyCards} unitId=${unitId} />`;
}

/** Rule titles for finding types the built-in words do not know. */
function useRuleTitles() {
  const [titles, setTitles] = useState(null);
  useEffect(() => {
    let live = true;
    get('/rules').then((rules) => {
      if (!live) return;
      const list = Array.isArray(rules) ? rules : rules?.items ?? [];
      const map = {};
      for (const r of list) if (r?.id && r.title) map[r.id] = r.title;
      setTitles(map);
    }, () => { /* the built-in words will do */ });
    return () => { live = false; };
  }, []);
  return titles;
}

function ChartWithNumbers({ rows, total, kind, caption }) {
  if (!rows.length) return html`<${Empty} />`;
  const sum = total ?? rows.reduce((s, r) => s + r.count, 0);
  const option = kind === 'pie' ? {
    color: PALETTE,
    animation: false,
    series: [{
      type: 'pie', radius: ['40%', '72%'], center: ['50%', '50%'], avoidLabelOverlap: true,
      label: { formatter: '{b}', fontSize: 11 },
      data: rows.map((r) => ({ name: r.name, value: r.count })),
    }],
  } : {
    color: PALETTE,
    animation: false,
    grid: { left: 8, right: 16, top: 8, bottom: 8, containLabel: true },
    xAxis: { type: 'value', minInterval: 1 },
    yAxis: { type: 'category', inverse: true, data: rows.map((r) => r.name), axisLabel: { fontSize: 11, width: 110, overflow: 'truncate' } },
    series: [{ type: 'bar', data: rows.map((r) => r.count), barMaxWidth: 18, label: { show: true, position: 'right', fontSize: 11 } }],
  };
  return html`<div class="chart-row">
    <${Chart} option=${option} label=${caption} height=${Math.max(180, Math.min(320, rows.length * 26 + 40))} />
    <div class="table-wrap"><table class="table compact">
      <thead><tr><th>${t('项目', 'Item')}</th><th class="num">${t('数量', 'Count')}</th><th class="num">${t('占比', 'Share')}</th></tr></thead>
      <tbody>${rows.map((r) => html`<tr><td>${r.name}</td><td class="num">${fmtNumber(r.count)}</td><td class="num">${sum ? fmtPercent(r.count / sum) : '—'}</td></tr>`)}</tbody>
    </table></div>
  </div>`;
}

function StepTimes({ steps }) {
  if (!steps.length) return html`<${Empty} text=${t('尚无完成的环节', 'No step finished yet')} />`;
  const option = {
    color: ['#9a5b00'],
    animation: false,
    grid: { left: 8, right: 24, top: 8, bottom: 8, containLabel: true },
    xAxis: { type: 'value' },
    yAxis: { type: 'category', inverse: true, data: steps.map((s) => label('application_state', s.state)), axisLabel: { fontSize: 11 } },
    series: [{ type: 'bar', data: steps.map((s) => Number(s.mean_working_days.toFixed(1))), barMaxWidth: 18, label: { show: true, position: 'right', fontSize: 11 } }],
  };
  return html`<div class="chart-row">
    <${Chart} option=${option} label=${t('各环节平均用时', 'Mean working days per step')} height=${Math.max(180, steps.length * 26 + 40)} />
    <table class="table compact">
      <thead><tr><th>${t('环节', 'Step')}</th><th class="num">${t('件数', 'Steps')}</th><th class="num">${t('平均工作日', 'Mean days')}</th></tr></thead>
      <tbody>${steps.map((s) => html`<tr><td>${label('application_state', s.state)}</td><td class="num">${fmtNumber(s.steps)}</td><td class="num">${fmtNumber(s.mean_working_days, 1)}</td></tr>`)}</tbody>
    </table>
  </div>`;
}

/** Relative poverty and MPI: computed on demand (heavier than the counts). */
function PovertyCards({ unitId }) {
  const rp = useAsync(() => get('/stats/relative-poverty', { org_unit_id: unitId, ratios: '0.4,0.5,0.6' }), [unitId]);
  const mpi = useAsync(() => get('/stats/mpi', { org_unit_id: unitId }), [unitId]);
  return html`<div class="grid-2">
    <${Card} title=${t('相对贫困线（人均月收入中位数 × 比例）', 'Relative poverty line (median per-capita income × ratio)')}>
      <${Async} state=${rp}>${(r) => html`<${RelativePovertyTable} r=${r} />`}<//>
    <//>
    <${Card} title=${t('多维贫困指数（MPI）', 'Multidimensional poverty index (MPI)')}>
      <${Async} state=${mpi}>${(m) => html`<${MpiView} m=${m} />`}<//>
    <//>
  </div>`;
}

function RelativePovertyTable({ r }) {
  if (!r.lines?.length) return html`<${Empty} />`;
  const area = (a) => (a === 'urban' ? t('城镇', 'Urban') : a === 'rural' ? t('农村', 'Rural') : a);
  return html`<div class="table-wrap"><table class="table compact" data-testid="relative-poverty">
    <thead><tr><th>${t('地区', 'Area')}</th><th class="num">${t('比例', 'Ratio')}</th><th class="num">${t('中位数（元/月）', 'Median (¥/month)')}</th>
      <th class="num">${t('贫困线', 'Line')}</th><th class="num">${t('线下户数', 'Below')}</th><th class="num">${t('占比', 'Share')}</th></tr></thead>
    <tbody>${r.lines.map((l) => html`<tr><td>${area(l.area)}</td><td class="num">${fmtPercent(l.ratio, 0)}</td>
      <td class="num">${l.median_pc === null || l.median_pc === undefined ? '—' : fmtNumber(l.median_pc, 0)}</td>
      <td class="num">${l.line === null || l.line === undefined ? '—' : fmtNumber(l.line, 0)}</td>
      <td class="num">${fmtNumber(l.below)} / ${fmtNumber(l.households)}</td><td class="num">${fmtPercent(l.share_below)}</td></tr>`)}</tbody>
  </table></div>
  <p class="hint">${t('按最近一次通过审核的走访所报收入计算。', 'From the income reported in each household\'s latest accepted visit.')}</p>`;
}

/** The configured MPI indicators' names (server config); an unknown one shows as it is. */
function indicatorName(name) {
  return hasLabel('mpi_indicator', name) ? label('mpi_indicator', name) : name;
}

function MpiView({ m }) {
  const option = {
    color: ['#6b4fbb'],
    animation: false,
    grid: { left: 8, right: 24, top: 8, bottom: 8, containLabel: true },
    xAxis: { type: 'value', max: 1, axisLabel: { formatter: (v) => `${Math.round(v * 100)}%` } },
    yAxis: { type: 'category', inverse: true, data: m.indicators.map((i) => indicatorName(i.name)), axisLabel: { fontSize: 11 } },
    series: [{ type: 'bar', data: m.indicators.map((i) => Number(i.contribution.toFixed(3))), barMaxWidth: 16 }],
  };
  return html`<div>
    <div class="stats" data-testid="mpi-numbers">
      <${Stat} label="MPI" value=${fmtNumber(m.mpi, 3)} />
      <${Stat} label=${t('贫困发生率 H', 'Headcount H')} value=${fmtPercent(m.h)} />
      <${Stat} label=${t('平均剥夺强度 A', 'Intensity A')} value=${fmtPercent(m.a)} />
      <${Stat} label=${t('临界值 k', 'Cut-off k')} value=${fmtNumber(m.k, 2)} hint=${t(`${fmtNumber(m.households)} 户参与计算`, `${fmtNumber(m.households)} households`)} />
    </div>
    ${m.indicators.length > 0 && html`<div class="chart-stack">
      <${Chart} option=${option} label=${t('各指标贡献率', 'Contribution of each indicator')} height=${Math.max(160, m.indicators.length * 26 + 40)} />
      <table class="table compact">
        <thead><tr><th>${t('指标', 'Indicator')}</th><th class="num">${t('权重', 'Weight')}</th><th class="num">${t('剥夺率', 'Deprived')}</th><th class="num">${t('贡献', 'Contribution')}</th></tr></thead>
        <tbody>${m.indicators.map((i) => html`<tr><td>${indicatorName(i.name)}</td><td class="num">${fmtNumber(i.weight, 3)}</td><td class="num">${fmtPercent(i.deprived_share)}</td><td class="num">${fmtPercent(i.contribution)}</td></tr>`)}</tbody>
      </table>
    </div>`}
  </div>`;
}
