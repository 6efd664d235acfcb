// The steps the caller may take on an application now, each with the fields it needs.
//
// The server says so itself in `allowed_actions` of `GET /applications/{id}`; this module reads
// that answer. When an older server leaves it out, the same table as
// server/src/applications/workflow.rs (edges, roles, notes, preconditions) decides, so the
// console never offers a step the server would refuse for the role, state or missing facts.

import { todayShanghai } from '../../shared/time.js';

const STREET = ['street_officer'];
const STREET_OR_DISTRICT = ['street_officer', 'district_officer'];
const COMMUNITY_OR_STREET = ['coordinator', 'street_officer'];
const UNDECIDED = ['investigating', 'first_review', 'public_notice', 'democratic_review'];

const EDGES = {
  accept: ['submitted'],
  return: ['submitted', 'accepted', 'investigating', 'first_review'],
  resubmit: ['returned'],
  investigate: ['accepted'],
  record_data_check: ['investigating'],
  finish_investigation: ['investigating'],
  start_notice: ['first_review'],
  record_objection: ['public_notice'],
  democratic_review: ['public_notice'],
  approve: ['public_notice', 'democratic_review'],
  refuse: UNDECIDED,
  activate: ['approved'],
  start_exit: ['active'],
  close: ['active', 'gradual_exit', 'refused'],
  update_category: ['submitted', 'accepted', 'investigating', 'first_review', 'public_notice',
    'democratic_review', 'approved', 'refused', 'active', 'gradual_exit', 'returned'],
};

function roles(action, delegated) {
  switch (action) {
    case 'resubmit': case 'record_data_check': case 'record_objection': return COMMUNITY_OR_STREET;
    case 'approve': case 'refuse': return delegated ? STREET : ['district_officer'];
    case 'return': case 'activate': case 'close': case 'update_category': return STREET_OR_DISTRICT;
    default: return STREET;
  }
}

export const NEEDS_NOTE = new Set(['return', 'record_objection', 'democratic_review', 'refuse', 'start_exit', 'close']);

// The inputs each step takes beyond the optional public note.
export const FIELDS = {
  record_data_check: ['data_check'],
  finish_investigation: ['visit_id'],
  start_notice: ['notice'],
  start_exit: ['exit_months'],
  update_category: ['category', 'category_status'],
};


/**
 * Steps for `role` on `app`: `[{action, fields, note_required, blocked?}]`. `blocked` is a
 * [zh, en] reason when the step is the role's at this state but a precondition is missing
 * (shown, disabled, with the reason), so the officer knows what is left to do.
 */
export function stepsFor(app, role) {
  if (Array.isArray(app.allowed_actions)) return fromServer(app.allowed_actions, app);
  const today = todayShanghai();
  const noticeOver = app.notice_ends_on ? today > app.notice_ends_on : false;
  const out = [];
  for (const [action, from] of Object.entries(EDGES)) {
    if (!from.includes(app.state) || !roles(action, app.delegated).includes(role)) continue;
    if (action === 'update_category' && !app.categories.some((c) => c.department !== 'civil_affairs')) continue;
    let blocked = null;
    if (action === 'finish_investigation' && !app.data_check) {
      blocked = ['尚未记录家庭经济状况信息核对', 'the financial data check has not been recorded'];
    } else if (action === 'democratic_review' && !app.objections) {
      continue; // no objections: the step does not arise
    } else if (['democratic_review', 'approve', 'refuse'].includes(action) && app.state === 'public_notice' && !noticeOver) {
      blocked = [`公示期至 ${app.notice_ends_on} 止，期满后方可办理`, `the public notice runs until ${app.notice_ends_on}`];
    } else if (action === 'approve' && app.state === 'public_notice' && app.objections > 0) {
      blocked = ['公示有异议，须先民主评议', 'the notice drew objections: a democratic review comes first'];
    }
    out.push({ action, fields: FIELDS[action] ?? [], note_required: NEEDS_NOTE.has(action), blocked });
  }
  return out;
}

// The server's `AllowedAction {action, needs: ["note", "visit_id", ...], blocked: "中文 / English" | null}`.
function fromServer(list, app) {
  return list
    .filter((a) => a.action !== 'update_category' || app.categories.some((c) => c.department !== 'civil_affairs'))
    // Without objections a democratic review does not arise at all: not a step that waits.
    .filter((a) => a.action !== 'democratic_review' || app.objections > 0)
    .map((a) => {
      const needs = a.needs ?? [];
      const fields = needs.filter((f) => f !== 'note');
      if (a.action === 'start_notice') fields.push('notice');
      let blocked = null;
      if (typeof a.blocked === 'string' && a.blocked) {
        const i = a.blocked.indexOf(' / ');
        blocked = i < 0 ? [a.blocked, a.blocked] : [a.blocked.slice(0, i), a.blocked.slice(i + 3)];
      }
      return { action: a.action, fields, note_required: needs.includes('note') || NEEDS_NOTE.has(a.action), blocked };
    });
}

