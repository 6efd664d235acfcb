// Chinese and English names the shared enum table (shared/i18n.js) does not hold: what each
// figure of a verification flag's evidence is, and the facts and values the discovery rules
// read and compute (server/src/rules/facts.rs, fixtures/rules), as [zh, en] pairs.

import { t } from '../../shared/i18n.js';

/** The words of `code` in `table`, or the code itself when it is not there. */
export const words = (table, code) => (table[code] ? t(table[code][0], table[code][1]) : code);

// What each number in a flag's evidence is.
export const EVIDENCE = {
  distance_m: ['距离（米）', 'Distance (m)'],
  allowed_m: ['允许（米）', 'Allowed (m)'],
  accuracy_m: ['定位精度（米）', 'Accuracy (m)'],
  max_accuracy_m: ['要求精度（米）', 'Required accuracy (m)'],
  on_site_secs: ['在户时间（秒）', 'Time on site (s)'],
  min_on_site_secs: ['最短时间（秒）', 'Minimum (s)'],
  fix_time: ['定位时间', 'Fix time'],
  started_at: ['走访开始', 'Visit started'],
  finished_at: ['走访结束', 'Visit finished'],
  taken_at: ['拍摄时间', 'Taken at'],
  task_created_at: ['任务创建', 'Task created'],
  households: ['户数', 'Households'],
  radius_m: ['半径（米）', 'Radius (m)'],
  fix_grid: ['定位所在网格', 'Grid of the fix'],
  household_grid_id: ['该户网格', "Household's grid"],
  photo_id: ['照片', 'Photo'],
  other_photo_ids: ['重复照片', 'Same photo elsewhere'],
  similar: ['相似照片', 'Similar photos'],
};

// The facts and values rules read and compute (server/src/rules/facts.rs, fixtures/rules).
export const FACT = {
  pc: ['人均月收入（元）', 'Income per person per month (yuan)'],
  s: ['低保标准（元/月）', 'Dibao standard S (yuan/month)'],
  d: ['上年人均可支配收入（元）', "Last year's disposable income D (yuan)"],
  k: ['边缘倍数 k', 'Edge multiple k'],
  r: ['刚性支出比例 r', 'Rigid-spending ratio r'],
  x: ['医疗自付门槛 X（元）', 'Medical OOP threshold X (yuan)'],
  p: ['医疗自付比例 p', 'Medical OOP share p'],
  status: ['救助状态', 'Assistance status'],
  member_count: ['家庭人口', 'Members'],
  household_income: ['家庭年收入（元）', 'Household income per year (yuan)'],
  vehicles: ['车辆', 'Vehicles'],
  savings: ['存款（元）', 'Savings (yuan)'],
  medical_oop_12m: ['12个月医疗自付（元）', 'Medical out-of-pocket, 12 months (yuan)'],
  school_oop_12m: ['12个月教育支出（元）', 'Schooling spending, 12 months (yuan)'],
  supporters_able: ['有能力的赡养人', 'Able supporters'],
  asset_limit: ['资产上限（元）', 'Asset limit (yuan)'],
  assets_pass: ['资产符合', 'Assets pass'],
  edge_line: ['边缘线（元）', 'Edge line (yuan)'],
  severe_members: ['重残重病成员', 'Severely disabled or ill members'],
  no_work_capacity: ['无劳动能力', 'No work capacity'],
  rigid_spending: ['刚性支出（元）', 'Rigid spending (yuan)'],
  rigid_share: ['刚性支出占收入比', 'Rigid spending / income'],
  annual_pc: ['人均年收入（元）', 'Income per person per year (yuan)'],
  oop_share: ['自付占收入比', 'Out-of-pocket / income'],
};
