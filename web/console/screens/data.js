// Data in and out: a department's file (medical claims, disability, education, unemployment, deaths)
// imported as a background job with its progress, its report and the unmatched rows to send back; and
// exports of households, visits, findings and applications as CSV (UTF-8 or GBK for Excel) or GeoJSON.

import { html, useState, useEffect, useRef } from '../../shared/html.js';
import { get, request, download, qs } from '../../shared/api.js';
import { t, label, half } from '../../shared/i18n.js';
import { fmtNumber, fmtDateTime, todayShanghai, addDays } from '../../shared/time.js';
import {
  Card, PageHead, Button, Field, Select, EnumSelect, Input, UnitPicker, ErrorLine, toast,
} from '../ui.js';

// Who may import (server/src/routes/imports/department.rs).
const IMPORTERS = ['admin', 'district_officer'];
const SOURCES = ['medical_claims', 'disability', 'education', 'unemployment', 'deaths'];
// The header each source's CSV needs (server/src/imports/departments.rs); Chinese or English names both work.
const COLUMNS = {
  medical_claims: ['结算单号 record_id', '身份证号 id_number', '结算日期 settlement_date', '总费用 total_cost', '统筹支付 insurance_paid', '个人自付 out_of_pocket', '医院 hospital'],
  disability: ['证件编号 record_id', '身份证号 id_number', '残疾类别 type', '残疾等级 level', '发证日期 date'],
  education: ['学籍号 record_id', '身份证号 id_number', '学校 school', '学段 stage'],
  unemployment: ['登记编号 record_id', '身份证号 id_number', '失业日期 since'],
  deaths: ['记录编号 record_id', '身份证号 id_number', '死亡日期 date'],
};
const urlSource = (s) => s.replace(/_/g, '-');

export default function DataScreen({ me }) {
  return html`<div>
    <${PageHead} title=${t('数据导入导出', 'Imports & exports')} />
    <div class="grid-2">
      ${IMPORTERS.includes(me.role) ? html`<${ImportCard} />` : html`<${Card} title=${t('部门数据导入', 'Department data import')}>
        <p class="muted">${t('部门数据由区民政局或系统管理员导入。', 'Department files are imported by the district office or an administrator.')}</p><//>`}
      <${ExportCard} me=${me} />
    </div>
  </div>`;
}

// ---- imports ------------------------------------------------------------------------------------

function ImportCard() {
  const [source, setSource] = useState('medical_claims');
  const [encoding, setEncoding] = useState('auto');
  const [file, setFile] = useState(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const [job, setJob] = useState(null); // the Job while it runs
  const [report, setReport] = useState(null); // DepartmentImport
  const fileInput = useRef(null);
  const poll = useRef(null);
  useEffect(() => () => clearTimeout(poll.current), []);

  const follow = (id) => {
    const tick = async () => {
      try {
        const j = await get(`/jobs/${id}`);
        setJob(j);
        if (j.state === 'done') {
          setReport(j.result);
          setBusy(false);
          toast(t('导入完成', 'Import finished'));
        } else if (j.state === 'failed') {
          setError(j.error ? half(j.error) : t('导入失败', 'The import failed'));
          setBusy(false);
        } else {
          poll.current = setTimeout(tick, 700);
        }
      } catch (e) {
        setError(e);
        setBusy(false);
      }
    };
    tick();
  };

  const start = async (e) => {
    e.preventDefault();
    if (!file) return;
    setBusy(true);
    setError(null);
    setReport(null);
    setJob(null);
    try {
      const json = /\.json$/i.test(file.name);
      const res = await request('POST', `/imports/${urlSource(source)}${qs({ format: json ? 'json' : 'csv', encoding: json ? undefined : encoding, background: true })}`, {
        body: file, headers: { 'Content-Type': json ? 'application/json' : 'text/csv' },
      });
      const body = await res.json();
      if (res.status === 202) {
        setJob(body);
        follow(body.id);
      } else {
        setReport(body);
        setBusy(false);
      }
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };

  return html`<${Card} title=${t('部门数据导入', 'Department data import')}>
    <form onSubmit=${start} data-testid="import-form">
      <${Field} label=${t('数据来源', 'Source')}>
        <${EnumSelect} kind="department_source" values=${SOURCES} value=${source} onChange=${setSource} name="source" />
      <//>
      <p class="hint">${t('表头：', 'Header: ')}${COLUMNS[source].join('，')}</p>
      <${Field} label=${t('文件（CSV 或 JSON）', 'File (CSV or JSON)')}>
        <input type="file" name="file" accept=".csv,.json,text/csv,application/json" ref=${fileInput}
          onChange=${(e) => setFile(e.currentTarget.files?.[0] ?? null)} class="input" />
      <//>
      <${Field} label=${t('编码', 'Encoding')}>
        <${Select} value=${encoding} onChange=${setEncoding} options=${[['auto', t('自动识别', 'Detect')], ['utf8', 'UTF-8'], ['gbk', 'GBK']]} />
      <//>
      <${Button} kind="primary" type="submit" busy=${busy} disabled=${!file}>${t('开始导入', 'Import')}<//>
    </form>
    <${ErrorLine} error=${error} />
    ${job && !report && html`<${JobProgress} job=${job} />`}
    ${report && html`<${ImportReport} report=${report} />`}
  <//>`;
}

function JobProgress({ job }) {
  const p = job.progress ?? {};
  const rows = p.rows ?? p.rows_read ?? p.read ?? null;
  const total = p.total ?? p.total_rows ?? null;
  const share = rows !== null && total ? Math.min(1, rows / total) : null;
  return html`<div class="stack" data-testid="import-progress" role="status">
    <p>${label('job_state', job.state)}${rows !== null ? t(`：已读 ${fmtNumber(rows)} 行`, `: ${fmtNumber(rows)} rows read`) : ''}
      ${p.evaluated !== undefined ? t(`，已评估 ${fmtNumber(p.evaluated)} 户`, `, ${fmtNumber(p.evaluated)} households evaluated`) : ''}</p>
    <div class="progress" aria-hidden="true"><div style=${{ width: share !== null ? `${Math.round(share * 100)}%` : job.state === 'running' ? '50%' : '5%' }}></div></div>
  </div>`;
}

function ImportReport({ report }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const fetchUnmatched = async () => {
    setBusy(true);
    setError(null);
    try {
      await download(`/imports/${urlSource(report.source)}/${report.id}/unmatched`, undefined, `unmatched-${report.source}.csv`);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  return html`<div class="stack" data-testid="import-report">
    <h3>${t('导入结果', 'Result')}</h3>
    <div class="stats">
      <div class="stat"><div class="stat-value">${fmtNumber(report.rows)}</div><div class="stat-label">${t('总行数', 'Rows')}</div></div>
      <div class="stat stat-ok"><div class="stat-value">${fmtNumber(report.matched)}</div><div class="stat-label">${t('匹配到成员', 'Matched')}</div></div>
      <div class="stat stat-warn"><div class="stat-value" data-testid="unmatched-count">${fmtNumber(report.unmatched)}</div><div class="stat-label">${t('未匹配', 'Unmatched')}</div></div>
      <div class="stat"><div class="stat-value">${fmtNumber(report.duplicates)}</div><div class="stat-label">${t('重复（已跳过）', 'Duplicates (skipped)')}</div></div>
      <div class="stat stat-bad"><div class="stat-value">${fmtNumber(report.rejected)}</div><div class="stat-label">${t('错误行', 'Rejected')}</div></div>
      <div class="stat"><div class="stat-value">${fmtNumber(report.findings_opened)}</div><div class="stat-label">${t('新发现', 'Findings opened')}</div></div>
      <div class="stat"><div class="stat-value">${fmtNumber(report.tasks_created)}</div><div class="stat-label">${t('核实任务', 'Verify tasks')}</div></div>
    </div>
    ${report.unmatched > 0 && html`<div><${Button} busy=${busy} onClick=${fetchUnmatched} data-testid="download-unmatched">${t('下载未匹配行（退回来源部门）', 'Download the unmatched rows (for the sending department)')}<//><${ErrorLine} error=${error} /></div>`}
    ${report.errors?.length > 0 && html`<div class="table-wrap"><table class="table compact errors-table">
      <thead><tr><th class="num">${t('行号', 'Line')}</th><th>${t('问题', 'Problem')}</th><th>${t('代码', 'Code')}</th></tr></thead>
      <tbody>${report.errors.map((e) => html`<tr><td class="num">${e.row}</td><td>${half(e.message)}</td><td class="mono">${e.code}</td></tr>`)}</tbody>
    </table></div>`}
    <p class="hint">${t('完成于', 'Finished')} ${fmtDateTime(report.finished_at ?? report.created_at)}</p>
  </div>`;
}

// ---- exports ------------------------------------------------------------------------------------

const KINDS = ['households', 'visits', 'findings', 'applications'];
const KIND_WORDS = { households: ['住户', 'Households'], visits: ['走访记录', 'Visits'], findings: ['主动发现', 'Findings'], applications: ['救助申请', 'Applications'] };

function ExportCard({ me }) {
  const [kind, setKind] = useState('households');
  const [format, setFormat] = useState('csv');
  const [encoding, setEncoding] = useState('utf8');
  const [unit, setUnit] = useState(null);
  const [status, setStatus] = useState('');
  const [from, setFrom] = useState(addDays(todayShanghai(), -30));
  const [to, setTo] = useState(todayShanghai());
  const [flagged, setFlagged] = useState('');
  const [header, setHeader] = useState(''); // '' = the server's default for the encoding
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const [done, setDone] = useState(null);
  const geo = kind === 'households' || kind === 'visits';
  const run = async (e) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    setDone(null);
    const params = { format: format === 'geojson' && geo ? 'geojson' : undefined };
    if (params.format !== 'geojson') {
      params.encoding = encoding;
      if (header) params.header = header;
    }
    if (unit && unit.id !== me.org_unit_id) params.org = unit.code;
    if (kind === 'households' && status) params.status = status;
    if (kind === 'visits') {
      params.from = from || undefined;
      params.to = to || undefined;
      if (flagged) params.flagged = flagged;
    }
    try {
      const ext = params.format === 'geojson' ? 'geojson' : 'csv';
      setDone(await download(`/exports/${kind}`, params, `${kind}-${todayShanghai().replace(/-/g, '')}.${ext}`));
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return html`<${Card} title=${t('数据导出', 'Export')}>
    <form onSubmit=${run} data-testid="export-form">
      <${Field} label=${t('导出内容', 'What')}>
        <${Select} name="kind" value=${kind} onChange=${setKind} options=${KINDS.map((k) => [k, t(...KIND_WORDS[k])])} />
      <//>
      <div class="field"><label>${t('范围', 'Area')}</label><${UnitPicker} rootId=${me.org_unit_id} onChange=${setUnit} /></div>
      ${kind === 'households' && html`<${Field} label=${t('救助状态', 'Status')}>
        <${EnumSelect} kind="household_status" values=${['dibao', 'tekun', 'edge', 'rigid_expense', 'relapse_monitoring', 'none']} value=${status} onChange=${setStatus} placeholder=${t('全部', 'All')} />
      <//>`}
      ${kind === 'visits' && html`<div class="row">
        <${Field} label=${t('开始日期', 'From')}><${Input} type="date" value=${from} onInput=${setFrom} /><//>
        <${Field} label=${t('结束日期', 'To')}><${Input} type="date" value=${to} onInput=${setTo} /><//>
        <${Field} label=${t('核验提示', 'Flags')}>
          <${Select} value=${flagged} onChange=${setFlagged} options=${[['true', t('仅有提示的', 'Flagged only')], ['false', t('仅无提示的', 'Unflagged only')]]} placeholder=${t('全部', 'All')} />
        <//>
      </div>`}
      <${Field} label=${t('格式', 'Format')}>
        <${Select} name="format" value=${geo ? format : 'csv'} onChange=${setFormat}
          options=${[['csv', 'CSV'], ...(geo ? [['geojson', t('GeoJSON（地图点位）', 'GeoJSON (map points)')]] : [])]} />
      <//>
      ${(format === 'csv' || !geo) && html`<${Field} label=${t('编码', 'Encoding')} hint=${t('GBK：Excel 直接打开不乱码，表头为中文', 'GBK opens in a Chinese Excel as is, with Chinese headers')}>
        <${Select} name="encoding" value=${encoding} onChange=${setEncoding} options=${[['utf8', 'UTF-8'], ['gbk', t('GBK（Excel）', 'GBK (Excel)')]]} />
      <//>
      <${Field} label=${t('表头', 'Header row')}>
        <${Select} name="header" value=${header} onChange=${setHeader} placeholder=${t('默认（GBK 为中文，UTF-8 为英文字段名）', 'Default (Chinese for GBK, field names for UTF-8)')}
          options=${[['zh', t('中文', 'Chinese')], ['en', t('英文字段名', 'English field names')]]} />
      <//>`}
      <${Button} kind="primary" type="submit" busy=${busy}>${t('下载', 'Download')}<//>
    </form>
    <${ErrorLine} error=${error} />
    ${done && html`<p class="notice notice-info" data-testid="export-done">${t('已下载', 'Downloaded')} ${done.name}（${fmtNumber(done.size / 1024, 1)} KB）</p>`}
    <p class="hint">${t('导出内容已脱敏，每次导出都记入审计日志。', 'Exports are masked, and each one is recorded in the audit log.')}</p>
  <//>`;
}
