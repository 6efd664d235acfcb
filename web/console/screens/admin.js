// Administration: users, org units and boundary import, forms (XLSForm upload with every problem shown
// by sheet and cell; publishing a version), rules, standards, the rule gaps that missing standards
// cause, and the audit log. Everything goes through the public API; the server checks every write.

import { html, useState, useEffect, useRef } from '../../shared/html.js';
import { api, get, post, put, patch, request, qs } from '../../shared/api.js';
import { t, label, pick, half, values } from '../../shared/i18n.js';
import { fmtDateTime, fmtDate, fmtNumber } from '../../shared/time.js';
import {
  Card, PageHead, PagedTable, Button, Badge, EnumBadge, Field, Input, TextArea, Select, EnumSelect, Modal, ErrorLine, useAsync, Async,
  UnitPicker, UnitName, Empty, toast, go, Tabs, FormDialog, getUnit, fieldErrors, Facts,
} from '../ui.js';
import { SecondFactorBadge } from '../second-factor.js';

const SECTIONS = [
  ['users', '用户', 'Users'],
  ['units', '组织与边界', 'Org units & boundaries'],
  ['forms', '表单', 'Forms'],
  ['rules', '发现规则', 'Rules'],
  ['standards', '救助标准', 'Standards'],
  ['gaps', '规则缺口', 'Rule gaps'],
  ['audit', '审计日志', 'Audit log'],
];

export default function Admin({ params, me }) {
  const section = SECTIONS.some(([k]) => k === params.section) ? params.section : 'users';
  return html`<div>
    <${PageHead} title=${t('系统管理', 'Administration')} />
    <${Tabs} value=${section} onChange=${(k) => go(`/admin/${k}`)} tabs=${SECTIONS.map(([k, zh, en]) => [k, t(zh, en)])} />
    ${section === 'users' && html`<${Users} me=${me} />`}
    ${section === 'units' && html`<${Units} me=${me} />`}
    ${section === 'forms' && html`<${Forms} params=${params} />`}
    ${section === 'rules' && html`<${Rules} />`}
    ${section === 'standards' && html`<${Standards} />`}
    ${section === 'gaps' && html`<${Gaps} />`}
    ${section === 'audit' && html`<${Audit} />`}
  </div>`;
}

// ---- users --------------------------------------------------------------------------------------

const ROLES = ['admin', 'district_officer', 'street_officer', 'coordinator', 'grid_worker', 'citizen'];
const ROLE_KINDS = { admin: ['city', 'district'], district_officer: ['district'], street_officer: ['street'], coordinator: ['community'], grid_worker: ['grid'], citizen: ['city'] };

function Users({ me }) {
  const [role, setRole] = useState('');
  const [unit, setUnit] = useState(null);
  const [creating, setCreating] = useState(false);
  const [editing, setEditing] = useState(null);
  const [reload, setReload] = useState(0);
  const params = { role: role || undefined, org_unit_id: unit && unit.id !== me.org_unit_id ? unit.id : undefined };
  return html`<div>
    <div class="filters">
      <${Field} label=${t('角色', 'Role')}><${EnumSelect} kind="role" values=${ROLES} value=${role} onChange=${setRole} placeholder=${t('全部', 'All')} /><//>
      <div class="field"><label>${t('单位', 'Unit')}</label><${UnitPicker} rootId=${me.org_unit_id} onChange=${setUnit} /></div>
      <div class="field grow"></div>
      <div class="field"><${Button} kind="primary" onClick=${() => setCreating(true)}>${t('新建用户', 'New user')}<//></div>
    </div>
    <${PagedTable} path="/users" params=${params} reloadKey=${reload} limit=${50} onRow=${setEditing}
      columns=${[
        { title: t('用户名', 'Username'), render: (u) => html`<span class="mono">${u.username}</span>` },
        { title: t('姓名', 'Name'), key: 'display_name' },
        { title: t('角色', 'Role'), render: (u) => label('role', u.role) },
        { title: t('单位', 'Unit'), render: (u) => html`<${UnitName} id=${u.org_unit_id} /> <span class="mono muted">${u.org_unit_code}</span>` },
        { title: t('状态', 'State'), render: (u) => (u.disabled ? html`<${Badge} tone="bad">${t('已停用', 'Disabled')}<//>` : html`<${Badge} tone="ok">${t('正常', 'Active')}<//>`) },
        { title: t('两步验证', 'Two-step verification'), render: (u) => html`<${SecondFactorBadge} on=${u.second_factor} />` },
        { title: t('创建于', 'Created'), render: (u) => fmtDate(u.created_at) },
      ]} />
    ${creating && html`<${UserDialog} me=${me} onClose=${() => setCreating(false)} onDone=${() => setReload((r) => r + 1)} />`}
    ${editing && html`<${UserDialog} me=${me} user=${editing} onClose=${() => setEditing(null)} onDone=${() => setReload((r) => r + 1)} />`}
  </div>`;
}

function UserDialog({ me, user, onClose, onDone }) {
  const [v, setV] = useState(user ? { display_name: user.display_name, role: user.role, password: '' } : { username: '', display_name: '', role: 'grid_worker', password: '' });
  const [unit, setUnit] = useState(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const set = (k) => (x) => setV((o) => ({ ...o, [k]: x }));
  const kindOk = unit ? ROLE_KINDS[v.role]?.includes(unit.kind) : Boolean(user);
  const save = async () => {
    setBusy(true);
    setError(null);
    try {
      if (user) {
        const body = {};
        if (v.display_name !== user.display_name) body.display_name = v.display_name;
        if (v.role !== user.role) body.role = v.role;
        if (unit) body.org_unit_id = unit.id;
        if (v.password) body.password = v.password;
        await patch(`/users/${user.id}`, body);
      } else {
        await post('/users', { username: v.username.trim(), display_name: v.display_name.trim(), role: v.role, password: v.password, org_unit_id: unit.id });
      }
      toast(t('已保存', 'Saved'));
      onDone();
      onClose();
    } catch (e) {
      setError(e);
      setBusy(false);
    }
  };
  const toggle = async () => {
    setBusy(true);
    try {
      await patch(`/users/${user.id}`, { disabled: !user.disabled });
      toast(user.disabled ? t('已启用', 'Enabled') : t('已停用', 'Disabled'));
      onDone();
      onClose();
    } catch (e) {
      setError(e);
      setBusy(false);
    }
  };
  const errs = fieldErrors(error);
  return html`<${Modal} title=${user ? t(`编辑用户 ${user.username}`, `Edit ${user.username}`) : t('新建用户', 'New user')} onClose=${onClose} footer=${html`
    ${user && html`<${Button} kind=${user.disabled ? 'plain' : 'danger'} busy=${busy} onClick=${toggle}>${user.disabled ? t('启用', 'Enable') : t('停用', 'Disable')}<//>`}
    <span class="grow"></span>
    <${Button} onClick=${onClose}>${t('取消', 'Cancel')}<//>
    <${Button} kind="primary" busy=${busy} disabled=${(!user && (!v.username || !v.password || !unit)) || !kindOk || !v.display_name} onClick=${save}>${t('保存', 'Save')}<//>`}>
    ${!user && html`<${Field} label=${t('用户名', 'Username')} required error=${errs.username}><${Input} value=${v.username} onInput=${set('username')} autocomplete="off" /><//>`}
    <${Field} label=${t('姓名', 'Display name')} required error=${errs.display_name}><${Input} value=${v.display_name} onInput=${set('display_name')} /><//>
    <${Field} label=${t('角色', 'Role')} required><${EnumSelect} kind="role" values=${ROLES} value=${v.role} onChange=${set('role')} /><//>
    <div class="field"><label>${t('所属单位', 'Unit')}${user ? t('（不改则留空）', ' (leave to keep)') : ''}</label>
      <${UnitPicker} rootId=${me.org_unit_id} onChange=${setUnit} />
      ${unit && !kindOk && html`<p class="error-line">${t(`${label('role', v.role)}只能属于：`, `A ${label('role', v.role)} belongs to: `)}${ROLE_KINDS[v.role].map((k) => label('org_kind', k)).join('、')}</p>`}
    </div>
    <${Field} label=${user ? t('新密码（不改则留空）', 'New password (leave to keep)') : t('密码', 'Password')} required=${!user} error=${errs.password}
      hint=${t('至少 12 位', 'At least 12 characters')}><${Input} type="password" value=${v.password} onInput=${set('password')} autocomplete="new-password" /><//>
    ${user && html`<${SecondFactorReset} me=${me} user=${user} onDone=${() => { onDone(); onClose(); }} />`}
    <${ErrorLine} error=${error} />
  <//>`;
}

/**
 * An account's two-step verification in the user dialog. An admin may reset another account's (a
 * lost phone), after saying so twice; one's own is reset by another admin.
 */
function SecondFactorReset({ me, user, onDone }) {
  const [asking, setAsking] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const own = user.id === me.id;
  const ask = useRef(null);
  useEffect(() => { if (asking) ask.current?.querySelector('button')?.focus(); }, [asking]);
  const reset = async () => {
    setBusy(true);
    setError(null);
    try {
      await api('DELETE', `/users/${user.id}/second-factor`);
      toast(t(`已重置 ${user.username} 的两步验证`, `Two-step verification of ${user.username} reset`));
      onDone();
    } catch (e) {
      setError(e);
      setBusy(false);
    }
  };
  return html`<div class="field" data-testid="user-second-factor">
    <label>${t('两步验证', 'Two-step verification')}</label>
    <div class="row"><${SecondFactorBadge} on=${user.second_factor} />
      ${user.second_factor && !own && !asking && html`<${Button} kind="danger" onClick=${() => setAsking(true)}>${t('重置两步验证', 'Reset two-step verification')}<//>`}</div>
    ${user.second_factor && own && html`<p class="hint">${t('本人的两步验证须由其他管理员重置。', 'Another administrator must reset your own.')}</p>`}
    ${asking && html`<div class="notice notice-warn" ref=${ask} role="group" aria-label=${t('确认重置两步验证', 'Confirm the reset')}>
      <p>${t(`重置后，${user.display_name}（${user.username}）只凭密码即可登录，直到重新开启两步验证。请先核实确是本人（如手机丢失）。`,
        `Once reset, ${user.display_name} (${user.username}) logs in with the password alone until two-step verification is turned on again. Check first that it is really them (a lost phone, say).`)}</p>
      <div class="row"><${Button} kind="danger" busy=${busy} onClick=${reset}>${t('确定重置', 'Reset it')}<//>
        <${Button} onClick=${() => setAsking(false)}>${t('取消', 'Cancel')}<//></div>
    </div>`}
    <${ErrorLine} error=${error} />
  </div>`;
}

// ---- org units ----------------------------------------------------------------------------------

function Units({ me }) {
  const [unit, setUnit] = useState(null);
  const [reload, setReload] = useState(0);
  const parentId = unit?.id ?? me.org_unit_id;
  return html`<div>
    <${Card} title=${t('组织架构', 'Org hierarchy')} actions=${html`<${UnitPicker} rootId=${me.org_unit_id} onChange=${setUnit} />`}>
      <${PagedTable} path="/org-units" params=${{ parent_id: parentId }} reloadKey=${reload} limit=${100}
        empty=${t('没有下级单位', 'No units below')}
        columns=${[
          { title: t('代码', 'Code'), render: (u) => html`<span class="mono">${u.code}</span>` },
          { title: t('名称', 'Name'), key: 'name' },
          { title: t('层级', 'Kind'), render: (u) => label('org_kind', u.kind) },
          { title: t('边界', 'Boundary'), render: (u) => (u.bbox ? html`<${Badge} tone="ok">${t('有', 'yes')}<//>` : html`<${Badge}>${t('无', 'none')}<//>`) },
          { title: t('更新于', 'Updated'), render: (u) => fmtDateTime(u.updated_at) },
        ]} />
    <//>
    <div class="grid-2">
      <${BoundaryImport} onDone=${() => setReload((r) => r + 1)} />
      <${NewUnit} parentId=${parentId} onDone=${() => setReload((r) => r + 1)} />
    </div>
  </div>`;
}

function BoundaryImport({ onDone }) {
  const [file, setFile] = useState(null);
  const [crs, setCrs] = useState('wgs84');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const [report, setReport] = useState(null);
  const run = async (e) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    setReport(null);
    try {
      const res = await request('POST', `/org-units/import${qs({ crs })}`, { body: file, headers: { 'Content-Type': 'application/geo+json' } });
      setReport(await res.json());
      onDone();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return html`<${Card} title=${t('导入边界（GeoJSON）', 'Import boundaries (GeoJSON)')}>
    <form onSubmit=${run}>
      <p class="hint">${t('每个要素带 code（或 adcode）与 name，可带 kind；上级须已存在或在同一文件中。已有代码的单位会被更新。',
        'Each feature carries code (or adcode) and name, optionally kind; parents must exist or be in the file. Existing codes are updated.')}</p>
      <${Field} label=${t('文件', 'File')}><input type="file" class="input" accept=".json,.geojson,application/geo+json,application/json" onChange=${(e) => setFile(e.currentTarget.files?.[0] ?? null)} /><//>
      <${Field} label=${t('坐标系', 'Coordinate system')}><${EnumSelect} kind="crs" values=${['wgs84', 'gcj02']} value=${crs} onChange=${setCrs} /><//>
      <${Button} kind="primary" type="submit" busy=${busy} disabled=${!file}>${t('导入', 'Import')}<//>
    </form>
    <${ProblemList} error=${error} />
    ${report && html`<p class="notice notice-info">${t(`新建 ${report.created}，更新 ${report.updated}，未变 ${report.unchanged}`, `${report.created} created, ${report.updated} updated, ${report.unchanged} unchanged`)}</p>`}
  <//>`;
}

function NewUnit({ parentId, onDone }) {
  const [v, setV] = useState({ kind: 'grid', code: '', name: '' });
  const [file, setFile] = useState(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const set = (k) => (x) => setV((o) => ({ ...o, [k]: x }));
  const run = async (e) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const body = { kind: v.kind, code: v.code.trim(), name: v.name.trim(), parent_id: parentId };
      if (file) {
        const gj = JSON.parse(await file.text());
        body.boundary = gj.type === 'Feature' ? gj.geometry : gj.type === 'FeatureCollection' ? gj.features?.[0]?.geometry : gj;
      }
      const u = await post('/org-units', body);
      toast(t(`已创建 ${u.name}`, `${u.name} created`));
      onDone();
    } catch (err) {
      setError(err instanceof SyntaxError ? t('边界文件不是有效的 JSON', 'The boundary file is not valid JSON') : err);
    } finally {
      setBusy(false);
    }
  };
  return html`<${Card} title=${t('新建下级单位', 'New unit below the chosen one')}>
    <form onSubmit=${run}>
      <p class="hint">${t('上级：', 'Parent: ')}<${UnitName} id=${parentId} /></p>
      <${Field} label=${t('层级', 'Kind')}><${EnumSelect} kind="org_kind" values=${['district', 'street', 'community', 'grid']} value=${v.kind} onChange=${set('kind')} /><//>
      <${Field} label=${t('代码', 'Code')} required hint=${t('须以上级代码开头', 'Must extend the parent\'s code')}><${Input} class="input mono" value=${v.code} onInput=${set('code')} /><//>
      <${Field} label=${t('名称', 'Name')} required><${Input} value=${v.name} onInput=${set('name')} /><//>
      <${Field} label=${t('边界（GeoJSON，网格必填）', 'Boundary (GeoJSON, needed for a grid)')}><input type="file" class="input" accept=".json,.geojson" onChange=${(e) => setFile(e.currentTarget.files?.[0] ?? null)} /><//>
      <${Button} kind="primary" type="submit" busy=${busy} disabled=${!v.code || !v.name}>${t('创建', 'Create')}<//>
    </form>
    <${ProblemList} error=${error} />
  <//>`;
}

/** An error and, for a file the server refused, each problem with where it is (sheet!cell, feature, line). */
function ProblemList({ error }) {
  if (!error) return null;
  if (typeof error === 'string') return html`<${ErrorLine} error=${error} />`;
  const details = error.details ?? [];
  return html`<div data-testid="problems">
    <${ErrorLine} error=${error} />
    ${details.length > 0 && html`<div class="table-wrap"><table class="table compact errors-table">
      <thead><tr><th>${t('位置', 'Where')}</th><th>${t('问题', 'Problem')}</th><th>${t('代码', 'Code')}</th></tr></thead>
      <tbody>${details.map((d) => html`<tr><td class="mono nowrap">${d.field}</td><td>${half(d.message)}</td><td class="mono">${d.code}</td></tr>`)}</tbody>
    </table></div>`}
  </div>`;
}

// ---- forms --------------------------------------------------------------------------------------

function Forms({ params }) {
  const forms = useAsync(() => get('/forms'), []);
  const [open, setOpen] = useState(null); // {key, version}
  return html`<div>
    <div class="grid-2">
      <${Card} title=${t('表单', 'Forms')}>
        <${Async} state=${forms}>${(list) => (list.length ? html`<table class="table compact table-click">
          <thead><tr><th>${t('键', 'Key')}</th><th>${t('标题', 'Title')}</th><th class="num">${t('最新版本', 'Latest')}</th></tr></thead>
          <tbody>${list.map((f) => html`<tr onClick=${() => setOpen({ key: f.key, version: f.latest_version })} tabindex="0">
            <td class="mono">${f.key}</td><td>${pick(f.title)}</td><td class="num">v${f.latest_version}</td></tr>`)}</tbody>
        </table>` : html`<${Empty} />`)}<//>
      <//>
      <${XlsFormUpload} onDone=${(v) => { forms.reload(); setOpen({ key: v.key, version: v.version }); }} />
    </div>
    ${open && html`<${FormVersionView} key=${`${open.key}:${open.version}`} formKey=${open.key} version=${open.version} onPublished=${(v) => { forms.reload(); setOpen({ key: v.key, version: v.version }); }} />`}
  </div>`;
}

function XlsFormUpload({ onDone }) {
  const [file, setFile] = useState(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const [done, setDone] = useState(null);
  const run = async (e) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    setDone(null);
    try {
      const res = await request('POST', '/forms/import-xlsform', {
        body: file, headers: { 'Content-Type': 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet' },
      });
      const v = await res.json();
      setDone(v);
      toast(t(`已发布 ${v.key} v${v.version}`, `Published ${v.key} v${v.version}`));
      onDone(v);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return html`<${Card} title=${t('上传 XLSForm（发布新版本）', 'Upload an XLSForm (publishes a version)')}>
    <form onSubmit=${run} data-testid="xlsform-form">
      <p class="hint">${t('工作簿需有 survey、choices、settings（含 form_id）三张表。引擎不支持的内容会逐个单元格列出，不会被丢弃。',
        'The workbook needs survey, choices and settings (with form_id). Anything the engine does not support is listed cell by cell, never dropped.')}</p>
      <${Field} label=${t('文件（.xlsx）', 'File (.xlsx)')}><input type="file" name="xlsform" class="input" accept=".xlsx" onChange=${(e) => setFile(e.currentTarget.files?.[0] ?? null)} /><//>
      <${Button} kind="primary" type="submit" busy=${busy} disabled=${!file}>${t('上传并发布', 'Upload and publish')}<//>
    </form>
    <${ProblemList} error=${error} />
    ${done && html`<p class="notice notice-info">${t(`已发布 ${done.key} 第 ${done.version} 版`, `Published ${done.key} version ${done.version}`)}</p>`}
  <//>`;
}

function flatFields(fields, depth = 0) {
  const out = [];
  for (const f of fields ?? []) {
    out.push({ f, depth });
    if (f.kind === 'repeat') out.push(...flatFields(f.fields, depth + 1));
  }
  return out;
}

function FormVersionView({ formKey, version, onPublished }) {
  const v = useAsync(() => get(`/forms/${formKey}/versions/${version}`), [formKey, version]);
  const [editing, setEditing] = useState(false);
  return html`<${Card} title=${t(`表单 ${formKey} 第 ${version} 版`, `Form ${formKey} version ${version}`)}
      actions=${html`<${Button} onClick=${() => setEditing(true)}>${t('以此为底稿发布新版本', 'Publish a new version from this one')}<//>`}>
    <${Async} state=${v}>${(fv) => html`
      <p class="muted">${pick(fv.definition.title)} · ${t('发布于', 'published')} ${fmtDateTime(fv.published_at)} · ${fv.definition.fields.length} ${t('个顶层字段', 'top-level fields')}</p>
      <div class="table-wrap"><table class="table compact" data-testid="form-fields">
        <thead><tr><th>${t('字段', 'Field')}</th><th>${t('标签', 'Label')}</th><th>${t('类型', 'Kind')}</th><th>${t('必填', 'Required')}</th><th>${t('显示条件', 'Relevant')}</th><th>${t('约束', 'Constraint')}</th></tr></thead>
        <tbody>${flatFields(fv.definition.fields).map(({ f, depth }) => html`<tr>
          <td class="mono" style=${{ paddingLeft: `${10 + depth * 16}px` }}>${f.name}</td><td>${pick(f.label)}</td><td>${label('field_kind', f.kind)}</td>
          <td>${f.required ? '✓' : ''}</td><td class="mono">${f.relevant ?? ''}</td><td class="mono">${f.constraint ?? ''}</td></tr>`)}</tbody>
      </table></div>
      ${editing && html`<${PublishDialog} definition=${fv.definition} onClose=${() => setEditing(false)} onPublished=${onPublished} />`}`}<//>
  <//>`;
}

function PublishDialog({ definition, onClose, onPublished }) {
  const [text, setText] = useState(JSON.stringify({ ...definition, version: definition.version + 1 }, null, 2));
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const run = async () => {
    setBusy(true);
    setError(null);
    let body;
    try {
      body = JSON.parse(text);
    } catch {
      setError(t('不是有效的 JSON', 'Not valid JSON'));
      setBusy(false);
      return;
    }
    try {
      const v = await post(`/forms/${definition.key}/versions`, body);
      toast(t(`已发布第 ${v.version} 版`, `Version ${v.version} published`));
      onPublished(v);
      onClose();
    } catch (e) {
      setError(e);
      setBusy(false);
    }
  };
  return html`<${Modal} wide title=${t(`发布 ${definition.key} 的新版本`, `Publish a new version of ${definition.key}`)} onClose=${onClose} footer=${html`
    <${Button} onClick=${onClose}>${t('取消', 'Cancel')}<//><${Button} kind="primary" busy=${busy} onClick=${run}>${t('发布', 'Publish')}<//>`}>
    <p class="hint">${t('已发布的版本不可修改；发布后新任务使用新版本，已分派的任务仍按原版本校验。', 'Published versions never change; new tasks use the new version, assigned ones keep theirs.')}</p>
    <${TextArea} rows=${18} class="input mono" value=${text} onInput=${setText} aria-label=${t('表单定义（JSON）', 'Form definition (JSON)')} />
    <${ProblemList} error=${error} />
  <//>`;
}

// ---- rules, standards, gaps ---------------------------------------------------------------------

function Rules() {
  const rules = useAsync(() => get('/rules'), []);
  const [editing, setEditing] = useState(null);
  return html`<${Card} title=${t('主动发现规则', 'Discovery rules')}>
    <${Async} state=${rules}>${(list) => html`<div class="table-wrap"><table class="table compact" data-testid="rules">
      <thead><tr><th>${t('规则', 'Rule')}</th><th>${t('名称', 'Title')}</th><th class="num">${t('版本', 'Version')}</th><th>${t('触发条件', 'When')}</th>
        <th>${t('建议类别', 'Categories')}</th><th>${t('所需标准', 'Needs')}</th><th>${t('状态', 'State')}</th><th></th></tr></thead>
      <tbody>${list.map((r) => html`<tr>
        <td class="mono">${r.id}</td><td>${pick(r.title)}</td><td class="num">v${r.version}</td><td class="mono">${r.when}</td>
        <td>${r.categories.map((c) => label('category', c)).join('、')}</td><td class="mono">${r.needs_standards.join(' ')}</td>
        <td>${r.enabled === false ? html`<${Badge}>${t('停用', 'off')}<//>` : html`<${Badge} tone="ok">${t('启用', 'on')}<//>`}</td>
        <td><${Button} kind="link" onClick=${() => setEditing(r)}>${t('修改', 'Edit')}<//></td></tr>`)}</tbody>
    </table></div>`}<//>
    ${editing && html`<${RuleDialog} rule=${editing} onClose=${() => setEditing(null)} onDone=${() => rules.reload()} />`}
  <//>`;
}

function RuleDialog({ rule, onClose, onDone }) {
  const def = { id: rule.id, title: rule.title, categories: rule.categories, when: rule.when, values: rule.values ?? [], enabled: rule.enabled ?? true };
  const [text, setText] = useState(JSON.stringify(def, null, 2));
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const run = async () => {
    setBusy(true);
    setError(null);
    let body;
    try { body = JSON.parse(text); } catch { setError(t('不是有效的 JSON', 'Not valid JSON')); setBusy(false); return; }
    try {
      const r = await put(`/rules/${rule.id}`, body);
      toast(t(`已发布 ${r.id} 第 ${r.version} 版`, `${r.id} version ${r.version} published`));
      onDone();
      onClose();
    } catch (e) {
      setError(e);
      setBusy(false);
    }
  };
  return html`<${Modal} wide title=${t(`修改规则 ${rule.id}`, `Edit rule ${rule.id}`)} onClose=${onClose} footer=${html`
    <${Button} onClick=${onClose}>${t('取消', 'Cancel')}<//><${Button} kind="primary" busy=${busy} onClick=${run}>${t('发布新版本', 'Publish a new version')}<//>`}>
    <p class="hint">${t('规则会按住户信息校验：未知字段、类型错误或循环引用会逐条列出，且不会保存。', 'The rule is checked against the household facts: every unknown field, type error or cycle is listed and nothing is stored.')}</p>
    <${TextArea} rows=${16} class="input mono" value=${text} onInput=${setText} aria-label=${t('规则定义（JSON）', 'Rule definition (JSON)')} />
    <${ProblemList} error=${error} />
  <//>`;
}

const STD_FIELDS = [
  ['s_urban', 'S 城镇低保标准（元/人/月）', 'S urban (¥/person/month)'], ['s_rural', 'S 农村低保标准', 'S rural'],
  ['d_urban', 'D 城镇人均可支配收入（元/年）', 'D urban (¥/year)'], ['d_rural', 'D 农村人均可支配收入', 'D rural'],
  ['k', 'k 边缘倍数', 'k edge multiple'], ['r', 'r 刚性支出比例', 'r rigid-expense ratio'],
  ['x', 'X 医疗自付年度门槛（元）', 'X medical threshold (¥)'], ['p', 'p 医疗自付占收入比例', 'p out-of-pocket share'],
];

function Standards() {
  const list = useAsync(() => get('/standards'), []);
  const [adding, setAdding] = useState(false);
  return html`<${Card} title=${t('救助标准', 'Standards')} actions=${html`<${Button} kind="primary" onClick=${() => setAdding(true)}>${t('登记新标准', 'Record a standard')}<//>`}>
    <${Async} state=${list}>${(rows) => (rows.length ? html`<div class="table-wrap"><table class="table compact" data-testid="standards">
      <thead><tr><th>${t('区', 'District')}</th><th>${t('生效日期', 'From')}</th>${STD_FIELDS.map(([k]) => html`<th class="num">${k}</th>`)}
        <th>${t('审批下放', 'Delegated')}</th><th>${t('备注', 'Note')}</th><th>${t('登记于', 'Recorded')}</th></tr></thead>
      <tbody>${rows.map((s) => html`<tr><td class="mono">${s.district_code}</td><td>${fmtDate(s.effective_from)}</td>
        ${STD_FIELDS.map(([k]) => html`<td class="num">${s[k] ?? html`<span class="muted">${t('缺', 'missing')}</span>`}</td>`)}
        <td>${s.approval_delegated ? '✓' : ''}</td><td>${s.note}${s.demo ? html` <${Badge} tone="warn">${t('演示值', 'demo')}<//>` : ''}</td><td>${fmtDateTime(s.recorded_at)}</td></tr>`)}</tbody>
    </table></div>` : html`<${Empty} />`)}<//>
    ${adding && html`<${StandardDialog} onClose=${() => setAdding(false)} onDone=${() => list.reload()} />`}
  <//>`;
}

function StandardDialog({ onClose, onDone }) {
  const fields = [
    { name: 'district_code', label: t('区划代码（6 位）', 'District code (6 digits)'), required: true },
    { name: 'effective_from', label: t('生效日期', 'Effective from'), kind: 'date', required: true },
    ...STD_FIELDS.map(([k, zh, en]) => ({ name: k, label: t(zh, en), kind: 'number' })),
    { name: 'note', label: t('备注（文件依据）', 'Note (the policy document)'), kind: 'textarea' },
  ];
  const submit = async (v) => {
    const body = { district_code: v.district_code.trim(), effective_from: v.effective_from, note: v.note ?? '' };
    for (const [k] of STD_FIELDS) if (v[k] !== undefined && v[k] !== '') body[k] = ['k', 'r', 'p'].includes(k) ? Number(v[k]) : Math.round(Number(v[k]));
    await put('/standards', body);
    toast(t('已登记', 'Recorded'));
    onDone();
  };
  return html`<${FormDialog} title=${t('登记救助标准', 'Record a standard')} fields=${fields} onSubmit=${submit} onClose=${onClose} />`;
}

function Gaps() {
  const gaps = useAsync(() => get('/rules/gaps'), []);
  return html`<${Card} title=${t('规则缺口：因缺少标准而未能运行的规则', 'Rule gaps: rules that could not run for want of a standard')}>
    <${Async} state=${gaps}>${(rows) => (rows.length ? html`<div class="table-wrap"><table class="table compact" data-testid="gaps">
      <thead><tr><th>${t('规则', 'Rule')}</th><th>${t('区', 'District')}</th><th>${t('缺少', 'Missing')}</th><th class="num">${t('跳过次数', 'Times skipped')}</th><th>${t('首次', 'First')}</th><th>${t('最近', 'Last')}</th></tr></thead>
      <tbody>${rows.map((g) => html`<tr><td class="mono">${g.rule_id} v${g.rule_version}</td><td class="mono">${g.district_code}</td><td class="mono">${g.missing.join(' ')}</td>
        <td class="num">${fmtNumber(g.times)}</td><td>${fmtDateTime(g.first_seen)}</td><td>${fmtDateTime(g.last_seen)}</td></tr>`)}</tbody>
    </table></div>` : html`<${Empty} text=${t('没有缺口：每条规则都有所需标准。', 'No gaps: every rule has the standards it needs.')} />`)}<//>
  <//>`;
}

// ---- audit log ----------------------------------------------------------------------------------

/** What each audited action is called (an action not listed shows as its code). */
const ACTIONS = {
  'auth.login': ['登录', 'Log-in'],
  'auth.refresh': ['刷新会话', 'Session refreshed'],
  'auth.logout': ['退出登录', 'Log-out'],
  'household.create': ['新建住户', 'Household created'],
  'household.update': ['修改住户', 'Household changed'],
  'household.view': ['查看住户', 'Household viewed'],
  'household.reveal_id': ['查看完整身份证号', 'ID number revealed'],
  'household.regrid': ['重新划入网格', 'Households moved to new grids'],
  'household.demo_load': ['载入示范住户', 'Demo households loaded'],
  'household.evaluate': ['重新运行规则', 'Rules run again'],
  'household.import': ['导入住户', 'Households imported'],
  'visit.submit': ['提交走访', 'Visit submitted'],
  'visit.view': ['查看走访', 'Visit viewed'],
  'visit.review': ['审核走访', 'Visit reviewed'],
  'photo.store': ['上传照片', 'Photo stored'],
  'photo.view': ['查看照片', 'Photo viewed'],
  'upload.create': ['开始分段上传', 'Upload started'],
  'upload.append': ['续传照片', 'Upload continued'],
  'task.create': ['新建任务', 'Task created'],
  'task.assign': ['分派任务', 'Task assigned'],
  'task.accepted': ['接受任务', 'Task accepted'],
  'task.cancelled': ['取消任务', 'Task cancelled'],
  'user.create': ['新建用户', 'User created'],
  'user.update': ['修改用户', 'User changed'],
  'user.second_factor.start': ['开始设置两步验证', 'Two-step verification set-up started'],
  'user.second_factor.enable': ['开启两步验证', 'Two-step verification turned on'],
  'user.second_factor.reset': ['重置两步验证', 'Two-step verification reset'],
  'org_unit.create': ['新建组织', 'Org unit created'],
  'org_unit.update': ['修改组织', 'Org unit changed'],
  'form.create': ['新建表单', 'Form created'],
  'form.publish': ['发布表单版本', 'Form version published'],
  'export': ['导出', 'Export'],
  'department.import': ['导入部门数据', 'Department data imported'],
  'finding.convert': ['发现转为申请', 'Finding made an application'],
  'finding.dismiss': ['驳回发现', 'Finding dismissed'],
  'application.submit': ['提交申请', 'Application submitted'],
  'rule.put': ['修改规则', 'Rule changed'],
  'standard.put': ['修改救助标准', 'Standard changed'],
  'keys.reseal': ['密钥轮换重新加密', 'Re-sealed under the current key'],
  'job.create': ['提交统计任务', 'Figures job queued'],
  'citizen.register': ['居民注册', 'Citizen registered'],
  'citizen.verify': ['居民验证手机', 'Citizen verified'],
  'self_report.create': ['居民自报', 'Self-report'],
};

const actionName = (a) => {
  if (ACTIONS[a]) return t(...ACTIONS[a]);
  if (a.startsWith('application.')) return t(`申请流转：${a.slice(12)}`, `Application: ${a.slice(12)}`);
  return a;
};

/** A Shanghai calendar day as the RFC 3339 instant it starts at (plus `days`). */
function dayStart(date, days = 0) {
  if (!date) return undefined;
  const d = new Date(`${date}T00:00:00+08:00`);
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString();
}

function Audit() {
  const [action, setAction] = useState('');
  const [entityId, setEntityId] = useState('');
  const [from, setFrom] = useState('');
  const [to, setTo] = useState('');
  const [open, setOpen] = useState(null);
  const users = useAsync(() => get('/users', { limit: 500 }), []);
  const names = new Map((users.data?.items ?? []).map((u) => [u.id, `${u.display_name} (${u.username})`]));
  const who = (id) => (id ? names.get(id) ?? html`<span class="mono">${id.slice(0, 8)}…</span>` : html`<span class="muted">${t('无（系统或未登录）', 'none (system or anonymous)')}</span>`);
  const params = {
    action: action || undefined,
    entity_id: entityId.trim() || undefined,
    from: dayStart(from),
    to: dayStart(to, 1),
  };
  return html`<div data-testid="audit">
    <p class="hint">${t('每次写入和敏感查看都记入审计日志，并以密钥链式签名，可用命令 ', 'Every write and every sensitive view is in the audit log, chained under a key; the command ')}
      <code>jiuzhu audit verify</code>${t(' 验证其完整。手机端的写入约一秒后出现。时间为北京时间。', ' checks it is whole. Phones\u2019 writes appear about a second later. Times are Beijing time.')}</p>
    <div class="filters">
      <${Field} label=${t('操作', 'Action')}><${Select} value=${action} onChange=${setAction} placeholder=${t('全部', 'All')}
        options=${Object.keys(ACTIONS).map((a) => [a, `${actionName(a)} · ${a}`])} /><//>
      <${Field} label=${t('对象编号', 'Object id')}><${Input} value=${entityId} onInput=${setEntityId} placeholder="uuid" /><//>
      <${Field} label=${t('起始日期', 'From')}><${Input} type="date" value=${from} onInput=${setFrom} /><//>
      <${Field} label=${t('截止日期', 'To')}><${Input} type="date" value=${to} onInput=${setTo} /><//>
    </div>
    <${PagedTable} path="/audit" params=${params} limit=${50} cursorParam="cursor" rowKey=${(r) => r.seq} onRow=${setOpen}
      empty=${t('没有符合条件的记录。', 'No records match.')}
      columns=${[
        { title: t('时间', 'Time'), render: (r) => fmtDateTime(r.at, { seconds: true }) },
        { title: t('操作者', 'Actor'), render: (r) => who(r.actor_id) },
        { title: t('操作', 'Action'), render: (r) => html`${actionName(r.action)} <span class="mono muted">${r.action}</span>` },
        { title: t('对象', 'Object'), render: (r) => html`<span class="mono">${r.entity} ${r.entity_id.length > 12 ? `${r.entity_id.slice(0, 8)}…` : r.entity_id}</span>` },
        { title: t('结果', 'Result'), render: (r) => (r.result === 'success' ? html`<${Badge} tone="ok">${t('成功', 'Success')}<//>` : html`<${Badge} tone="bad">${t('失败', 'Failure')}<//>`) },
        { title: t('序号', 'No.'), class: 'num', render: (r) => html`<span class="mono">${r.seq}</span>` },
      ]} />
    ${open && html`<${Modal} title=${`${actionName(open.action)} · #${open.seq}`} onClose=${() => setOpen(null)}>
      <div data-testid="audit-record"><${Facts} items=${[
        [t('时间', 'Time'), fmtDateTime(open.at, { seconds: true })],
        [t('操作者', 'Actor'), who(open.actor_id)],
        [t('操作', 'Action'), html`<span class="mono">${open.action}</span>`],
        [t('对象', 'Object'), html`<span class="mono">${open.entity} ${open.entity_id}</span>`],
        [t('请求编号', 'Request id'), open.request_id && html`<span class="mono">${open.request_id}</span>`],
        [t('详情', 'Detail'), html`<pre class="mono">${JSON.stringify(open.detail, null, 2)}</pre>`],
      ]} /></div>
    <//>`}
  </div>`;
}
