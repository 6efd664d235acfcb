// Chinese first, English switchable: a `lang` signal kept in localStorage, `t(zh, en)` for the words
// of a screen, and the names of the API's error codes and enum values (proto/openapi.json, proto/src).

import { signal, effect } from './html.js';

const KEY = 'jiuzhu.lang';

function initial() {
  try {
    const v = localStorage.getItem(KEY);
    if (v === 'zh' || v === 'en') return v;
  } catch { /* storage refused: stay with Chinese */ }
  return 'zh';
}

/** 'zh' | 'en'. Components that read it re-render when it changes. */
export const lang = signal(initial());

effect(() => {
  try { localStorage.setItem(KEY, lang.value); } catch { /* ignore */ }
  if (typeof document !== 'undefined') document.documentElement.lang = lang.value === 'zh' ? 'zh-CN' : 'en';
});

export function setLang(v) {
  lang.value = v === 'en' ? 'en' : 'zh';
}

export function t(zh, en) {
  return lang.value === 'en' ? (en ?? zh) : zh;
}

/** Picks one half of a server message written `中文 / English`. */
export function half(message) {
  if (!message) return '';
  const i = message.indexOf(' / ');
  if (i < 0) return message;
  return lang.value === 'en' ? message.slice(i + 3) : message.slice(0, i);
}

/** A `{zh, en}` object (the rules' titles, for instance) in the current language. */
export function pick(o) {
  if (o === null || o === undefined) return '';
  if (typeof o === 'string') return o;
  return lang.value === 'en' ? (o.en ?? o.zh ?? '') : (o.zh ?? o.en ?? '');
}

const ENUMS = {
  error: {
    bad_request: ['请求有误', 'Bad request'],
    invalid_json: ['请求格式有误', 'Malformed JSON'],
    unknown_field: ['请求含未知字段', 'Unknown field in the request'],
    payload_too_large: ['文件或内容过大', 'Too large'],
    unsupported_media_type: ['文件类型不支持', 'Unsupported file type'],
    validation_failed: ['填写内容有误', 'Some fields are not valid'],
    invalid_coordinate: ['坐标无效', 'Invalid coordinate'],
    invalid_crs: ['坐标系无效', 'Invalid coordinate system'],
    invalid_geometry: ['边界图形无效', 'Invalid geometry'],
    invalid_org_code: ['区划代码无效', 'Invalid org code'],
    wrong_parent_kind: ['上级单位层级不对', 'Wrong kind of parent unit'],
    parent_not_found: ['找不到上级单位', 'Parent unit not found'],
    duplicate_code: ['代码已存在', 'Code already exists'],
    duplicate_username: ['用户名已存在', 'Username already taken'],
    invalid_password: ['密码不符合要求', 'Password does not meet the rules'],
    invalid_username: ['用户名不符合要求', 'Invalid username'],
    role_not_allowed: ['该角色不能绑定到此单位', 'Role not allowed for this unit'],
    unauthorized: ['请先登录', 'Please log in'],
    method_not_allowed: ['不支持此请求方法', 'This method is not allowed on this path'],
    invalid_credentials: ['用户名或密码错误', 'Wrong username or password'],
    token_expired: ['登录已过期，请重新登录', 'Session expired: log in again'],
    token_reused: ['登录凭据已被使用，请重新登录', 'Token reused: log in again'],
    device_mismatch: ['设备不匹配', 'Device mismatch'],
    account_locked: ['登录失败次数过多，账号已临时锁定', 'Too many failed log-ins: the account is locked for a while'],
    account_disabled: ['账号已停用，请联系管理员', 'Account disabled: contact your administrator'],
    rate_limited: ['操作太频繁', 'Too many attempts'],
    busy: ['服务器繁忙', 'The server is busy'],
    forbidden: ['无权进行此操作', 'You may not do this'],
    not_found: ['未找到，或不在您的管辖范围内', 'Not found, or outside your area'],
    conflict: ['数据已被他人修改，请刷新后重试', 'Changed by someone else: reload and retry'],
    idempotency_conflict: ['重复提交的内容不一致', 'Resubmitted with a different body'],
    task_not_open: ['任务已取消、关闭或改派', 'The task is cancelled, closed or reassigned'],
    invalid_photo: ['照片无法读取', 'The photo cannot be read'],
    checksum_mismatch: ['文件校验失败', 'Checksum mismatch'],
    offset_mismatch: ['上传位置不一致', 'Upload offset mismatch'],
    request_timeout: ['请求超时', 'Request timed out'],
    invalid_transition: ['当前环节不能进行此操作（可能已被他人处理）', 'Not possible at this step (perhaps someone else acted first)'],
    verification_failed: ['验证码错误或已过期', 'Wrong or expired code'],
    second_factor_required: ['请输入动态验证码', 'Enter the authenticator code'],
    second_factor_invalid: ['验证码错误或已使用', 'Wrong or already-used code'],
    second_factor_enrolment_required: ['请先开启两步验证', 'Turn on two-step verification first'],
    second_factor_enabled: ['两步验证已开启', 'Two-step verification is already on'],
    second_factor_not_started: ['请重新开始设置两步验证', 'Start setting up two-step verification again'],
    unknown_export_kind: ['没有这种导出', 'No such export'],
    internal: ['服务器内部错误', 'Internal server error'],
    unavailable: ['服务暂不可用', 'Service unavailable'],
    network: ['网络不通，请检查连接', 'The server could not be reached'],
    session_ended: ['会话已结束', 'The session has ended'],
    unknown: ['未知错误', 'Unknown error'],
  },
  role: {
    citizen: ['群众', 'Citizen'],
    grid_worker: ['网格员', 'Grid worker'],
    coordinator: ['社区协调员', 'Community coordinator'],
    street_officer: ['街道经办人', 'Street officer'],
    district_officer: ['区民政局', 'District officer'],
    admin: ['系统管理员', 'Administrator'],
  },
  org_kind: {
    city: ['市', 'City'], district: ['区', 'District'], street: ['街道', 'Street'], community: ['社区', 'Community'], grid: ['网格', 'Grid'],
  },
  task_state: {
    pending: ['待分派', 'Pending'],
    assigned: ['已分派', 'Assigned'],
    accepted: ['已接收', 'Accepted'],
    submitted: ['已提交', 'Submitted'],
    reviewed: ['已审核', 'Reviewed'],
    cancelled: ['已取消', 'Cancelled'],
  },
  task_kind: {
    visit: ['入户走访', 'Home visit'], verify: ['核实', 'Verification'], recheck: ['定期复核', 'Re-check'],
  },
  application_state: {
    submitted: ['已提交', 'Submitted'],
    accepted: ['已受理', 'Accepted'],
    investigating: ['入户调查', 'Investigating'],
    first_review: ['初审', 'First review'],
    public_notice: ['公示中', 'Public notice'],
    democratic_review: ['民主评议', 'Democratic review'],
    approved: ['已批准', 'Approved'],
    refused: ['不予批准', 'Refused'],
    active: ['享受中', 'Active'],
    gradual_exit: ['渐退期', 'Gradual exit'],
    closed: ['已终止', 'Closed'],
    returned: ['已退回', 'Returned'],
  },
  action: {
    accept: ['受理', 'Accept'],
    return: ['退回', 'Return'],
    resubmit: ['重新提交', 'Resubmit'],
    investigate: ['开始入户调查', 'Start investigation'],
    record_data_check: ['登记信息核对', 'Record data check'],
    finish_investigation: ['完成调查', 'Finish investigation'],
    start_notice: ['开始公示', 'Start public notice'],
    record_objection: ['登记异议', 'Record objection'],
    democratic_review: ['民主评议', 'Democratic review'],
    approve: ['批准', 'Approve'],
    refuse: ['不予批准', 'Refuse'],
    activate: ['开始发放', 'Activate'],
    start_exit: ['进入渐退', 'Start gradual exit'],
    close: ['终止', 'Close'],
    update_category: ['更新类别', 'Update category'],
  },
  category: {
    dibao: ['低保', 'Dibao'],
    dibao_individual: ['单人户低保', 'Individual dibao'],
    tekun: ['特困供养', 'Tekun support'],
    edge: ['低保边缘', 'Dibao edge'],
    rigid_expense: ['刚性支出困难', 'Rigid-expense hardship'],
    temporary: ['临时救助', 'Temporary assistance'],
    medical: ['医疗救助', 'Medical assistance'],
    education: ['教育救助', 'Education assistance'],
    housing: ['住房救助', 'Housing assistance'],
    employment: ['就业救助', 'Employment assistance'],
    disaster: ['受灾人员救助', 'Disaster relief'],
  },
  category_status: {
    in_progress: ['办理中', 'In progress'], referred: ['已转办', 'Referred'], granted: ['已给予', 'Granted'],
    declined: ['未给予', 'Declined'], closed: ['已结束', 'Closed'],
  },
  household_status: {
    dibao: ['低保', 'Dibao'],
    tekun: ['特困', 'Tekun'],
    edge: ['低保边缘', 'Dibao edge'],
    rigid_expense: ['刚性支出困难', 'Rigid expense'],
    relapse_monitoring: ['防返贫监测', 'Relapse monitoring'],
    none: ['一般户', 'None'],
  },
  finding_state: {
    open: ['待处理', 'Open'], converted: ['已转申请', 'Converted'], dismissed: ['已排除', 'Dismissed'],
  },
  finding_source: {
    visit: ['走访', 'Visit'], household: ['户籍信息', 'Household data'], department: ['部门数据', 'Department data'], self_report: ['群众自报', 'Self-report'],
  },
  // Finding types are the rules' ids (fixtures/rules/default.toml); GET /rules gives the titles of any other.
  finding_type: {
    possible_dibao: ['疑似低保对象', 'Possibly eligible for dibao'],
    possible_edge: ['疑似低保边缘家庭', 'Possibly a dibao-edge family'],
    individual_dibao: ['单人户低保', 'Individual dibao'],
    possible_tekun: ['疑似特困人员', 'Possibly eligible for tekun support'],
    rigid_expense: ['刚性支出困难', 'Hardship from rigid spending'],
    illness: ['因病致困', 'Hardship from illness'],
    new_severe_disability: ['新增重度残疾', 'Newly severely disabled member'],
    earner_died: ['主要劳动力死亡', 'Main earner died'],
    disaster_accident: ['遭遇事故、火灾或灾害', 'Accident, fire or disaster'],
    schooling: ['低收入家庭在校生', 'Student in a low-income family'],
    unemployment: ['失业或零就业家庭', 'Unemployment in the family'],
    housing: ['住房困难', 'Dilapidated housing'],
    gradual_exit: ['就业增收（渐退）', 'Above the standard after work'],
    care_need: ['需照料', 'Needs care'],
    may_not_qualify: ['发现财产，需复核', 'Property found: re-check'],
    self_report: ['群众自报', 'Self-report'],
  },
  flag: {
    far_from_household: ['定位离住户过远', 'Far from the household'],
    outside_grid: ['不在本网格内', 'Outside the grid'],
    poor_accuracy: ['定位精度差', 'Poor GPS accuracy'],
    mock_location: ['疑似虚拟定位', 'Mock location'],
    too_short: ['走访时间过短', 'Visit too short'],
    repeated_coordinates: ['坐标重复', 'Repeated coordinates'],
    fix_time_mismatch: ['定位时间不符', 'Fix time mismatch'],
    photo_far: ['照片拍摄地点过远', 'Photo taken far away'],
    photo_time_mismatch: ['照片拍摄时间不符', 'Photo time mismatch'],
    duplicate_photo: ['照片重复使用', 'Photo reused'],
    similar_photo: ['照片高度相似', 'Very similar photo'],
    photo_before_task: ['照片早于任务', 'Photo older than the task'],
  },
  review_state: {
    pending: ['待审核', 'Pending'], approved: ['通过', 'Approved'], has_issues: ['有问题', 'Has issues'],
    rejected: ['退回', 'Rejected'], superseded: ['已被替代', 'Superseded'],
  },
  review_decision: {
    approved: ['通过', 'Approve'], has_issues: ['有问题', 'Has issues'], rejected: ['退回', 'Reject'],
  },
  department: {
    civil_affairs: ['民政', 'Civil affairs'], medical_insurance: ['医保', 'Medical insurance'], education: ['教育', 'Education'],
    housing: ['住建', 'Housing'], human_resources: ['人社', 'Human resources'], emergency: ['应急', 'Emergency management'],
  },
  department_source: {
    medical_claims: ['医保结算', 'Medical claims'], disability: ['残联残疾人', 'Disability records'], education: ['教育学籍', 'Education records'],
    unemployment: ['人社失业登记', 'Unemployment records'], deaths: ['死亡登记', 'Death records'],
  },
  self_report_status: {
    received: ['已收到', 'Received'], verifying: ['核实中', 'Verifying'], closed: ['已办结', 'Closed'],
  },
  job_state: {
    queued: ['排队中', 'Queued'], running: ['进行中', 'Running'], done: ['已完成', 'Done'], failed: ['失败', 'Failed'],
  },
  gender: { male: ['男', 'Male'], female: ['女', 'Female'] },
  relation: {
    head: ['户主', 'Head'], spouse: ['配偶', 'Spouse'], child: ['子女', 'Child'], child_in_law: ['儿媳/女婿', 'Child-in-law'],
    grandchild: ['孙子女', 'Grandchild'], parent: ['父母', 'Parent'], grandparent: ['祖父母', 'Grandparent'],
    sibling: ['兄弟姐妹', 'Sibling'], other: ['其他', 'Other'],
  },
  health: { healthy: ['健康', 'Healthy'], chronic: ['慢性病', 'Chronic illness'], grave_illness: ['重病', 'Grave illness'] },
  disability_type: {
    visual: ['视力', 'Visual'], hearing: ['听力', 'Hearing'], speech: ['言语', 'Speech'], physical: ['肢体', 'Physical'],
    intellectual: ['智力', 'Intellectual'], mental: ['精神', 'Mental'], multiple: ['多重', 'Multiple'],
  },
  work_status: {
    employed: ['就业', 'Employed'], self_employed: ['自主经营', 'Self-employed'], farming: ['务农', 'Farming'],
    unemployed: ['失业', 'Unemployed'], retired: ['退休', 'Retired'], unable_to_work: ['无劳动能力', 'Unable to work'],
    not_working_age: ['非劳动年龄', 'Not of working age'],
  },
  student_status: {
    not_student: ['非在校', 'Not a student'], preschool: ['学前', 'Preschool'], primary: ['小学', 'Primary'],
    junior_secondary: ['初中', 'Junior secondary'], senior_secondary: ['高中', 'Senior secondary'],
    vocational: ['职业教育', 'Vocational'], tertiary: ['高等教育', 'Tertiary'],
  },
  // The MPI's configured indicators (server config, `stats.mpi`).
  mpi_indicator: {
    income: ['收入', 'Income'], housing: ['住房', 'Housing'], grave_illness: ['重病', 'Grave illness'],
    severe_disability: ['重度残疾', 'Severe disability'], employment: ['就业', 'Employment'], schooling: ['教育', 'Schooling'],
    health: ['健康', 'Health'], education: ['教育', 'Education'], living: ['生活', 'Living standard'],
  },
  crs: { wgs84: ['WGS-84', 'WGS-84'], gcj02: ['GCJ-02（国测局）', 'GCJ-02'], bd09: ['BD-09（百度）', 'BD-09'] },
  field_kind: {
    text: ['文本', 'Text'], integer: ['整数', 'Integer'], decimal: ['小数', 'Decimal'], boolean: ['是/否', 'Yes/no'],
    date: ['日期', 'Date'], select_one: ['单选', 'Single choice'], select_multiple: ['多选', 'Multiple choice'],
    geopoint: ['位置', 'Location'], photo: ['照片', 'Photo'], repeat: ['重复组', 'Repeat group'], note: ['说明', 'Note'],
    calculate: ['计算', 'Calculated'],
  },
};

/** The words for an enum value: `label('task_state', 'assigned')` → 已分派. Unknown values show as they are. */
export function label(kind, value) {
  if (value === null || value === undefined || value === '') return '';
  const pair = ENUMS[kind]?.[value];
  if (!pair) return String(value);
  return lang.value === 'en' ? pair[1] : pair[0];
}

/** The known values of an enum kind, for select boxes. */
export function values(kind) {
  return Object.keys(ENUMS[kind] ?? {});
}

export function hasLabel(kind, value) {
  return Boolean(ENUMS[kind]?.[value]);
}

/**
 * What to tell a person about an error: the code's words, the server's own message when it says
 * more (a field, a limit), and when to try again.
 */
export function errorText(err) {
  if (!err) return '';
  const code = err.code ?? 'unknown';
  const known = ENUMS.error[code];
  let text = known ? (lang.value === 'en' ? known[1] : known[0]) : half(err.message) || String(err);
  // For these the server's own words name the field, the limit or the step; for the rest (a lockout,
  // a missing token...) they only repeat ours.
  const own = half(err.message);
  if (known && own && own !== text && DETAILED.has(code)) text = `${text}：${own}`;
  if (err.retryAfter) text += t(`（请在 ${waitWords(err.retryAfter)}后再试）`, ` (try again in ${waitWords(err.retryAfter)})`);
  return text;
}

const DETAILED = new Set([
  'bad_request', 'invalid_json', 'unknown_field', 'payload_too_large', 'unsupported_media_type', 'validation_failed', 'invalid_coordinate',
  'invalid_geometry', 'invalid_org_code', 'wrong_parent_kind', 'parent_not_found', 'duplicate_code', 'invalid_password', 'invalid_username',
  'role_not_allowed', 'conflict', 'invalid_transition', 'invalid_photo', 'unknown_export_kind', 'forbidden',
]);

function waitWords(secs) {
  if (secs < 90) return t(`${secs} 秒`, `${secs} s`);
  const mins = Math.ceil(secs / 60);
  return t(`${mins} 分钟`, `${mins} min`);
}

/** Every field-level problem of a validation_failed answer, keyed by field path. */
export function fieldErrors(err) {
  const out = {};
  for (const d of err?.details ?? []) out[d.field] = half(d.message) || d.code;
  return out;
}

export const ENUM_KINDS = Object.keys(ENUMS);
