// What a citizen reads: states in plain words with what happens next, never internal codes, and the
// errors a citizen can meet said as a citizen would understand them.

import { t, label, errorText, half } from '../shared/i18n.js';

/** Kinds of hardship a citizen may name (the API's categories), in everyday words. */
export const NEEDS = [
  ['temporary', '突发困难、生活急难', 'A sudden crisis'],
  ['medical', '看病就医困难', 'Medical costs'],
  ['dibao', '收入低、生活困难', 'Low income'],
  ['tekun', '无人照料的老人、残疾人或儿童', 'No one to care for an elder, disabled person or child'],
  ['education', '孩子上学困难', 'Schooling costs'],
  ['housing', '住房困难', 'Housing'],
  ['employment', '失业、找不到工作', 'Out of work'],
  ['disaster', '遭受火灾、事故或自然灾害', 'Fire, accident or disaster'],
];

export function needWords(category) {
  const n = NEEDS.find(([c]) => c === category);
  return n ? t(n[1], n[2]) : category ? label('category', category) : t('未选择类型', 'No type chosen');
}

const REPORT = {
  received: ['已收到', 'Received', '我们已收到您的求助，正在安排工作人员处理。', 'We have your report and are finding someone to handle it.'],
  verifying: ['核实中', 'Being checked', '网格员将联系您并上门了解情况，请保持电话畅通。', 'A grid worker will call and visit you: keep your phone on.'],
  closed: ['已办结', 'Done', '这次求助已处理完毕。如有新的困难，可以再次求助。', 'This report has been dealt with. Report again if anything new happens.'],
};

const APPLICATION = {
  submitted: ['已提交', 'Submitted', '申请已提交，等待街道受理。', 'Waiting for the street office to take it up.'],
  accepted: ['已受理', 'Taken up', '街道已受理您的申请。', 'The street office has taken up your application.'],
  investigating: ['入户调查中', 'Being investigated', '工作人员将上门了解家庭情况，并核对收入和财产。', 'Staff will visit and check income and property.'],
  first_review: ['街道初审中', 'First review', '街道正在审核调查结果。', 'The street office is reviewing the findings.'],
  public_notice: ['公示中', 'On public notice', '审核结果正在社区公示，公示期为7天。', 'The result is on public notice in the community for 7 days.'],
  democratic_review: ['民主评议中', 'Community review', '社区正在组织民主评议。', 'The community is reviewing the case.'],
  approved: ['已批准', 'Approved', '申请已获批准，救助将按时发放。', 'Approved: assistance will be paid.'],
  refused: ['未获批准', 'Not approved', '申请未获批准，原因见下方说明。如有异议，可向区民政局申请复核。', 'Not approved: see the reason below. You may ask the district for a review.'],
  active: ['救助发放中', 'Being paid', '救助正在按月发放。', 'Assistance is being paid monthly.'],
  gradual_exit: ['渐退期', 'Gradual exit', '家庭收入已提高，救助将在渐退期后停止。', 'Income has risen: assistance ends after a transition period.'],
  closed: ['已结束', 'Ended', '救助已结束。', 'Assistance has ended.'],
  returned: ['待补充材料', 'More information needed', '需要补充材料，社区工作人员会与您联系。', 'More information is needed: community staff will contact you.'],
};

const CATEGORY_STATUS = {
  in_progress: ['办理中', 'In progress'], referred: ['已转有关部门办理', 'Passed to the department in charge'], granted: ['已给予', 'Granted'],
  declined: ['未给予', 'Not granted'], closed: ['已结束', 'Ended'],
};

const pair = (table, value) => table[value] ?? null;

/** {title, next} of a self-report's status. */
export function reportStatus(status) {
  const p = pair(REPORT, status);
  return p ? { title: t(p[0], p[1]), next: t(p[2], p[3]) } : { title: t('处理中', 'In progress'), next: '' };
}

/** {title, next} of an application's state. */
export function applicationState(state) {
  const p = pair(APPLICATION, state);
  return p ? { title: t(p[0], p[1]), next: t(p[2], p[3]) } : { title: t('办理中', 'In progress'), next: '' };
}

export function categoryStatus(status) {
  const p = pair(CATEGORY_STATUS, status);
  return p ? t(p[0], p[1]) : t('办理中', 'In progress');
}

/** The citizen's version of an error: their words for the codes they meet, the server's details when it gives them. */
export function say(err) {
  if (!err) return '';
  const own = {
    duplicate_username: ['该手机号已注册，请直接登录', 'This number is registered: log in instead'],
    invalid_credentials: ['手机号或密码错误', 'Wrong number or password'],
    verification_failed: ['验证码错误或已过期，请检查后重试，或重新获取验证码', 'Wrong or expired code: check it or ask for a new one'],
    account_disabled: ['该手机号尚未完成验证，请重新注册获取验证码', 'This number is not verified yet: register again for a code'],
    forbidden: ['无权进行此操作', 'You may not do this'],
    unauthorized: ['登录已失效，请重新登录', 'Please log in again'],
    token_expired: ['登录已失效，请重新登录', 'Please log in again'],
  }[err.code];
  if (err.code === 'not_a_citizen') return half(err.message);
  // A photo's details are the decoder's English words; the Chinese message says enough.
  if (['invalid_photo', 'payload_too_large', 'unsupported_media_type'].includes(err.code)) return half(err.message) || errorText(err);
  if (err.details?.length) {
    return err.details.map((d) => {
      const what = half(d.message) || d.code;
      const name = fieldName(d.field);
      return name && !what.includes(name) ? `${name}：${what}` : what;
    }).join('；');
  }
  if (own) {
    let text = t(own[0], own[1]);
    if (err.retryAfter) text += t(`（请在 ${Math.ceil(err.retryAfter / 60)} 分钟后再试）`, ` (try again in ${Math.ceil(err.retryAfter / 60)} min)`);
    return text;
  }
  if (err.code === 'invalid_password') {
    return half(err.message) || errorText(err);
  }
  return errorText(err);
}

const FIELDS = {
  phone: ['手机号码', 'Mobile number'], password: ['密码', 'Password'], code: ['验证码', 'Code'],
  description: ['情况说明', 'What happened'], address: ['详细地址', 'Address'], location: ['位置', 'Place'],
  photo_ids: ['照片', 'Photos'], contact_phone: ['联系电话', 'Contact number'], category_hint: ['困难类型', 'Kind of difficulty'],
};

/** The form's name of a field the server names (`location.lat` is the place). */
function fieldName(path) {
  const f = FIELDS[String(path ?? '').split(/[.[]/)[0]];
  return f ? t(f[0], f[1]) : '';
}
