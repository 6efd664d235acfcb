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
  members: ['家庭成员', 'Household members'],
  member_count: ['家庭人口', 'Household size'],
  household_income: ['家庭年收入（元）', 'Household annual income (yuan)'],
  pc: ['人均月收入（元）', 'Per-capita monthly income (yuan)'],
  status: ['当前救助类别', 'Current assistance status'],
  urban: ['城市（非农村）', 'Urban (not rural)'],
  has_visit: ['有已审核的入户走访', 'Has an accepted visit'],
  hardship_causes: ['致困原因', 'Causes of hardship'],
  medical_oop_12m: ['近12个月自付医疗费用（元）', 'Medical out-of-pocket, 12 months (yuan)'],
  school_oop_12m: ['近12个月自付教育费用（元）', 'School out-of-pocket, 12 months (yuan)'],
  savings: ['存款（元）', 'Savings (yuan)'],
  vehicles: ['机动车数量', 'Motor vehicles'],
  safety_grade: ['房屋安全等级', 'Housing safety grade'],
  supporters_able: ['有赡养能力的义务人数', 'Supporters able to support'],
  new_severe_disability: ['新增重度残疾（残联）', 'New severe disability'],
  earner_died: ['主要劳动力死亡', 'Main earner died'],
  s: ['低保标准 S（元/月）', 'Dibao standard S (yuan/month)'],
  d: ['上年人均可支配收入 D（元/年）', 'Per-capita disposable income D (yuan/year)'],
  k: ['低保边缘倍数 k', 'Edge multiple k'],
  r: ['刚性支出比例 r', 'Rigid-expense ratio r'],
  x: ['医疗自付门槛 X（元/年）', 'Medical out-of-pocket threshold X (yuan/year)'],
  p: ['医疗自付占收入比例 p', 'Medical out-of-pocket share p'],
  asset_limit: ['资产上限（元）', 'Asset limit (yuan)'],
  assets_pass: ['资产符合', 'Assets pass'],
  edge_line: ['低保边缘线（元/月）', 'Edge line (yuan/month)'],
  severe_members: ['重残重病成员数', 'Severely disabled or gravely ill members'],
  no_work_capacity: ['无劳动能力', 'No work capacity'],
  rigid_spending: ['刚性支出（元）', 'Rigid spending (yuan)'],
  rigid_share: ['刚性支出占收入比', 'Rigid spending / income'],
  annual_pc: ['人均年收入（元）', 'Per-capita annual income (yuan)'],
  oop_share: ['自付医疗占收入比', 'Out-of-pocket / income'],
  most_items_failed: ['六项日常生活能力多数丧失', 'Most daily-living items failed'],
  employed: ['在业人数', 'Members employed'],
  unemployed_able: ['有劳动能力的失业者', 'Unemployed and able to work'],
  students: ['在校生人数', 'Students'],
  in_grid: ['位置在网格内', 'Inside a grid'],
  photos: ['照片数', 'Photos'],
};
